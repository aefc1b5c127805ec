"""Results and the API search computed and cached per postcode district (issue 26): everyone in S10 shares one
entry, the page says "near S10" and shows no one's full postcode, the searcher's own postcode reaches only their
booking form, and a booking still drops the district's pages."""

import pytest

from tests.factories import PostcodeFactory, SlotFactory, book
from tests.web.test_page_cache import _get
from web.page_cache import HEADER, SEARCHED_POSTCODE_COOKIE

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbours(seat):
    """Two postcodes of S10 (its centre at the first, as the importer would derive it) and a session there."""
    first = PostcodeFactory(postcode="S10 1AA", lat=53.380, lng=-1.500, seat=seat)
    second = PostcodeFactory(postcode="S10 5QQ", lat=53.372, lng=-1.520, seat=seat)
    slot = SlotFactory(capacity=3, session__meeting_point__postcode=first.postcode)
    return first, second, slot


def test_two_postcodes_of_a_district_share_its_results_page(client, page_cache_on, neighbours):
    first, second, slot = neighbours
    one = _get(client, "/find/?postcode=s101aa")
    other = _get(client, "/find/?postcode=S10+5QQ")
    assert (one[HEADER], other[HEADER]) == ("MISS", "HIT")
    assert one.content == other.content
    page = one.content.decode()
    assert "Sessions near S10<" in page and f"?slot={slot.pk}" in page
    assert "S10 1AA" not in page and "S10 5QQ" not in page and "S101AA" not in page.upper()
    assert _get(client, "/find/?postcode=S10")[HEADER] == "HIT"  # the district typed alone: the same entry


def test_the_distance_filter_is_part_of_the_key(client, page_cache_on, neighbours):
    _get(client, "/find/?postcode=S10+1AA&within=25")
    assert _get(client, "/find/?postcode=S10+5QQ&within=5")[HEADER] == "MISS"
    assert _get(client, "/find/?postcode=S10+1AA&within=5")[HEADER] == "HIT"


def test_the_api_search_is_the_districts_and_names_only_it(client, page_cache_on, neighbours):
    one = _get(client, "/api/sessions/?near=S10%201AA&limit=1")
    other = _get(client, "/api/sessions/?near=s105qq&limit=1")
    assert (one[HEADER], other[HEADER]) == ("MISS", "HIT")
    body = one.json()
    assert body["near"]["postcode"] == "S10" and body["near"]["precision"] == "district"
    assert "1AA" not in one.content.decode() and "5QQ" not in one.content.decode()


def test_the_booking_form_gets_the_searchers_own_postcode(client, page_cache_on, neighbours):
    first, second, slot = neighbours
    results = _get(client, "/find/?postcode=S10+5QQ")
    assert results.cookies[SEARCHED_POSTCODE_COOKIE].value == "S105QQ"
    assert results.cookies[SEARCHED_POSTCODE_COOKIE]["path"] == "/s/"
    assert results.cookies[SEARCHED_POSTCODE_COOKIE]["httponly"]
    session_page = _get(client, f"/s/{slot.session_id}/?postcode=S10")
    assert "S10 5QQ" not in session_page.content.decode()
    form = client.get(f"/s/{slot.session_id}/book/?slot={slot.pk}&postcode=S10")
    assert 'value="S10 5QQ"' in form.content.decode()
    elsewhere = client.get(f"/s/{slot.session_id}/book/?slot={slot.pk}&postcode=S11")  # another district carried
    assert 'value="S11"' in elsewhere.content.decode() and "S10 5QQ" not in elsewhere.content.decode()


def test_a_booking_drops_the_districts_pages(client, page_cache_on, neighbours, django_capture_on_commit_callbacks):
    first, second, slot = neighbours
    urls = ["/find/?postcode=S10+1AA", "/api/sessions/?near=S10+5QQ"]
    for url in urls:
        _get(client, url)
    assert _get(client, "/find/?postcode=S10+5QQ")[HEADER] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        book(slot, proven=True)
    assert _get(client, "/find/?postcode=S10")[HEADER] == "MISS"
    assert _get(client, "/api/sessions/?near=S10%201AA")[HEADER] == "MISS"
