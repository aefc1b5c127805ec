"""The shared page cache (web.cache, web.page_cache): public pages come from Redis until a change drops them by
tag; nothing personal is ever stored or marked cacheable; Redis unreachable means pages computed as before."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from sessions import services as session_services
from tests.factories import SlotFactory, book
from tests.web.test_private_cache_control import _private, private_routes  # noqa: F401 - the fixture
from volunteers.services import booking_approve, booking_cancel
from web import cache, page_cache
from web.page_cache import HEADER

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(postcode):
    return SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode)


def _get(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response


def test_a_public_page_is_computed_once_then_served_from_the_cache(client, page_cache_on, slot,
                                                                   django_assert_num_queries):
    url = f"/s/{slot.session_id}/"
    first = _get(client, url)
    assert first[HEADER] == "MISS"
    with django_assert_num_queries(0):
        second = _get(client, url)
    assert second[HEADER] == "HIT"
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


def test_public_answers_carry_shared_cache_headers_and_revalidate(client, page_cache_on, slot):
    response = _get(client, f"/s/{slot.session_id}/")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert "public" in directives
    assert f"s-maxage={settings.PAGE_CACHE_SHARED_MAX_AGE}" in directives
    assert any(d.startswith("stale-while-revalidate=") for d in directives)
    assert response.has_header("Last-Modified")
    again = client.get(f"/s/{slot.session_id}/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def _places(response) -> bytes:
    return response.content


def _hit_then(client, url, change) -> tuple:
    before = _get(client, url)
    assert _get(client, url)[HEADER] == "HIT"
    change()
    after = _get(client, url)
    return before, after


def test_a_booking_drops_the_session_page_results_and_api(client, page_cache_on, slot, postcode,
                                                          django_capture_on_commit_callbacks):
    urls = [f"/s/{slot.session_id}/", f"/find/?postcode={postcode.postcode}",
            f"/api/sessions/?near={postcode.postcode}"]
    for url in urls:
        _get(client, url)
        assert _get(client, url)[HEADER] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        book(slot, proven=True)
    for url in urls:
        assert _get(client, url)[HEADER] == "MISS", url
    api = _get(client, urls[2]).json()
    assert api["results"][0]["slots"][0]["places_left"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_committed_booking_bumps_its_slot_once_and_drops_its_pages(client, page_cache_on, slot, monkeypatch):
    """Its places and its event both tell of the slot: the commit's callbacks send the tag to Redis once."""
    url = f"/s/{slot.session_id}/"
    _get(client, url)
    assert _get(client, url)[HEADER] == "HIT"
    bumped = []
    original = cache.bump
    monkeypatch.setattr(cache, "bump", lambda tags: bumped.append(set(tags)) or original(tags))
    book(slot, proven=True)  # commits: no test transaction around it
    assert bumped == [{f"slot:{slot.pk}"}]
    assert _get(client, url)[HEADER] == "MISS"


@pytest.mark.parametrize("change", ["cancel", "promote", "edit", "approve", "reschedule"])
def test_each_kind_of_change_drops_the_session_page(client, page_cache_on, postcode, change,
                                                    django_capture_on_commit_callbacks):
    slot = SlotFactory(capacity=1, session__meeting_point__postcode=postcode.postcode,
                       session__requires_approval=change == "approve")
    host = slot.session.meeting_point.host
    with django_capture_on_commit_callbacks(execute=True):
        first = book(slot, proven=True)
        waiting = book(slot, proven=True) if change == "promote" else None
    url = f"/s/{slot.session_id}/"
    _get(client, url)
    assert _get(client, url)[HEADER] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        if change in ("cancel", "promote"):
            booking_cancel(manage_token=first.manage_token)
        elif change == "edit":
            session_services.session_update(user=host, session_id=slot.session_id, title="Renamed session")
        elif change == "approve":
            booking_approve(user=host, session_id=slot.session_id, booking_id=first.pk)
        else:
            session_services.slot_reschedule(user=host, slot_id=slot.pk, starts_at=slot.starts_at + timedelta(hours=1),
                                             ends_at=slot.ends_at + timedelta(hours=1))
    after = _get(client, url)
    assert after[HEADER] == "MISS"
    if change == "edit":
        assert b"Renamed session" in after.content
    if waiting is not None:
        waiting.refresh_from_db()
        assert waiting.status == "confirmed"


def test_a_page_rendered_while_a_booking_commits_is_not_kept_as_good(client, page_cache_on, slot,
                                                                     django_capture_on_commit_callbacks):
    """The bump's time is compared with the time the view started: a page whose view began before the booking
    committed (and may have read the old count) is dropped even though it was stored after the bump."""
    url = f"/s/{slot.session_id}/"
    real_lookup = cache.lookup

    def lookup_then_book(key):
        found = real_lookup(key)
        with django_capture_on_commit_callbacks(execute=True):
            book(slot, proven=True)
        return found

    page_cache.cache.lookup = lookup_then_book
    try:
        _get(client, url)
    finally:
        page_cache.cache.lookup = real_lookup
    assert _get(client, url)[HEADER] == "MISS"


def test_the_language_is_part_of_the_key_not_the_cookie_header(client, page_cache_on, slot):
    url = f"/s/{slot.session_id}/"
    english = _get(client, url)
    welsh = _get(client, url, HTTP_ACCEPT_LANGUAGE="cy")
    assert welsh[HEADER] == "MISS"
    assert welsh["Content-Language"] == "cy" and english["Content-Language"] == "en-gb"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    from_cookie = _get(client, url, HTTP_ACCEPT_LANGUAGE="en")
    assert from_cookie[HEADER] == "HIT"
    assert from_cookie.content == welsh.content
    assert "Accept-Language" in from_cookie["Vary"] and "Cookie" in from_cookie["Vary"]


def test_a_device_cookie_gets_the_shared_page_which_holds_nothing_of_theirs(client, page_cache_on, slot):
    """The remembered device prefills the booking form only, on /s/<id>/book/, which is never cached."""
    anonymous = _get(client, f"/s/{slot.session_id}/")
    client.cookies["frontroom_device"] = "anything"
    remembered = _get(client, f"/s/{slot.session_id}/")
    assert remembered[HEADER] == "HIT" and remembered.content == anonymous.content
    form = client.get(f"/s/{slot.session_id}/book/?slot={slot.pk}")
    assert not form.has_header(HEADER)
    assert "public" not in form.get("Cache-Control", "")


def test_no_cached_page_holds_a_csrf_token_or_sets_a_cookie(client, page_cache_on, slot, postcode):
    for url in ("/", "/find/?postcode=S10", f"/s/{slot.session_id}/", f"/api/sessions/?near={postcode.postcode}"):
        for response in (_get(client, url), _get(client, url)):
            assert b"csrfmiddlewaretoken" not in response.content, url
            assert not response.cookies, url
    # A search with a full postcode: the district's shared page, plus the searcher's own postcode in a cookie for
    # their booking form; so that answer is theirs alone for any cache outside.
    for response in (_get(client, f"/find/?postcode={postcode.postcode}"),) * 2:
        assert b"csrfmiddlewaretoken" not in response.content
        assert set(response.cookies) == {page_cache.SEARCHED_POSTCODE_COOKIE}
        assert response["Cache-Control"] == "private, no-store"


def test_a_signed_in_visitor_or_a_pending_message_bypasses_the_cache(client, page_cache_on, slot):
    from tests.factories import UserFactory

    url = f"/s/{slot.session_id}/"
    client.force_login(UserFactory(username="host1"))
    signed_in = _get(client, url)
    assert signed_in[HEADER] == "BYPASS"
    assert signed_in["Cache-Control"] == "private, no-store"
    assert b"csrfmiddlewaretoken" in signed_in.content  # the sign-out form: this is why it is not stored
    client.logout()
    client.cookies.pop(settings.SESSION_COOKIE_NAME, None)
    fresh = _get(client, url)
    assert fresh[HEADER] == "MISS" and b"csrfmiddlewaretoken" not in fresh.content
    # A booking of a slot no longer offered sends the volunteer back with a message: shown to them alone.
    noticed = client.get(f"/s/{slot.session_id}/book/?slot=999999999", follow=True)
    assert noticed.redirect_chain and noticed.redirect_chain[-1][0] == url
    assert noticed[HEADER] == "BYPASS" and noticed["Cache-Control"] == "private, no-store"
    assert _get(client, url)[HEADER] == "HIT"
    assert b"no longer offered" not in _get(client, url).content


def test_private_pages_stay_private_with_the_cache_on(client, page_cache_on, slot):
    booking = book(slot, proven=True)
    for url in (f"/b/{booking.manage_token}", "/my/", "/host/", "/coordinate/"):
        response = client.get(url)
        assert not response.has_header(HEADER), url
        directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives and "public" not in directives, url


def test_junk_query_parameters_do_not_make_new_entries(client, page_cache_on, slot):
    _get(client, f"/s/{slot.session_id}/")
    assert _get(client, f"/s/{slot.session_id}/?utm_source=x&junk={uuid.uuid4()}")[HEADER] == "HIT"


@override_settings(PAGE_CACHE_URL="redis://127.0.0.1:1/0", PAGE_CACHE_SOCKET_TIMEOUT=0.05)
def test_with_redis_unreachable_pages_are_computed_as_before(client, page_cache_on, slot,
                                                             django_capture_on_commit_callbacks):
    cache.reset()
    first = _get(client, f"/s/{slot.session_id}/")
    assert first[HEADER] == "MISS" and "public" not in first.get("Cache-Control", "")
    with django_capture_on_commit_callbacks(execute=True):
        book(slot, proven=True)  # the bump fails open
    assert _get(client, f"/s/{slot.session_id}/")[HEADER] == "MISS"


def test_an_entry_past_its_freshness_is_computed_again(client, page_cache_on, slot, settings):
    url = f"/s/{slot.session_id}/"
    _get(client, url)
    settings.PAGE_CACHE_FRESH_SECONDS = 0
    assert _get(client, url)[HEADER] == "MISS"


def test_a_new_session_drops_the_results_lists(client, page_cache_on, slot, postcode,
                                               django_capture_on_commit_callbacks):
    url = f"/find/?postcode={postcode.postcode}"
    _get(client, url)
    assert _get(client, url)[HEADER] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        SlotFactory(capacity=2, session__meeting_point__postcode=postcode.postcode,
                    session__starts_at=timezone.now() + timedelta(days=3))
    assert _get(client, url)[HEADER] == "MISS"


def test_every_private_route_stays_private_no_store_with_the_cache_on(client, page_cache_on,
                                                                      private_routes):  # noqa: F811 - the fixture
    """tests/web/test_private_cache_control.py's walk of the URL conf, with the shared cache on: nothing private
    is answered from it, stored in it, or marked cacheable."""
    leaks = []
    for name, path in private_routes:
        response = client.get(path)
        if response.has_header(HEADER) or not _private(response):
            leaks.append((name, path, response.status_code, response.get("Cache-Control")))
    assert leaks == []
    assert cache.clear() == 0  # nothing was stored


@override_settings(PAGE_CACHE_URL="redis://127.0.0.1:1/0", PAGE_CACHE_SOCKET_TIMEOUT=0.05)
def test_healthz_says_no_cache_when_the_page_cache_is_unreachable(client, page_cache_on):
    cache.reset()
    assert client.get("/healthz?only=database").json()["mode"] == "no-cache"


def test_a_page_asked_for_once_is_not_stored_until_asked_again(client, page_cache_on, slot, settings):
    settings.PAGE_CACHE_ADMIT_AFTER = 2
    url = f"/s/{slot.session_id}/"
    first = _get(client, url)
    assert first[HEADER] == "MISS" and "public" in first["Cache-Control"]
    assert _get(client, url)[HEADER] == "MISS"  # asked twice: stored now
    assert _get(client, url)[HEADER] == "HIT"
