"""Coordinators' pages through Django's test client: staff only, the same services as the API, no 500s."""

import json
import re

import pytest
from django.conf import settings as django_settings

from dispatch.models import AssignmentRun, CoordinatorAction, OverflowMove
from notify.sms.models import SmsMessage
from seats.models import Seat
from tests.dispatch import factories as f
from tests.factories import AssignmentRunFactory, CoordinatorActionFactory
from tests.web import coordinator_data as data
from volunteers.models import Booking
from web.coordinators import maps

pytestmark = pytest.mark.django_db

PAGES = ["/coordinate/", "/coordinate/?map=boundaries&colour=fill", f"/coordinate/seats/{data.FULL}/",
         "/coordinate/overflow/", f"/coordinate/overflow/?seat={data.FULL}", "/coordinate/runs/",
         "/coordinate/sms/", "/coordinate/sms/reminders/", "/coordinate/audit/"]


@pytest.fixture(autouse=True)
def manual_overflow(settings):
    settings.OVERFLOW_AUTO = False


@pytest.fixture
def coordinator(client):
    user = data.staff()
    client.force_login(user)
    return user


@pytest.fixture
def area():
    return data.area()


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client, area):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/host/login/?next=/coordinate/")


def test_a_coordinator_signs_in_on_frontrooms_own_page_and_comes_back(client, area):
    data.staff()
    login = client.get("/coordinate/runs/", follow=True)
    assert b"Django administration" not in login.content
    response = client.post(login.redirect_chain[-1][0], {"username": "coord", "password": "a-long-password-9"})
    assert response.status_code == 302
    assert response["Location"] == "/coordinate/runs/"


def test_signed_in_non_staff_get_a_403_page_and_change_nothing(client, area):
    client.force_login(f.user("host-person", staff=False))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403 and response["Content-Type"].startswith("text/html"), url
    response = client.post("/coordinate/overflow/", {"seat": data.FULL})
    assert response.status_code == 403
    assert not OverflowMove.objects.exists() and not CoordinatorAction.objects.exists()


def test_every_page_answers_html_for_staff(client, coordinator, area):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'href="#main"' in response.content


JUNK = [
    "/coordinate/?date_from=junk&date_to=2020-13-45&sort=%27;drop&map=<x>&colour=blue&region=Atlantis",
    "/coordinate/?date_from=2026-01-10&date_to=2026-01-01",
    "/coordinate/?date_from=1900-01-01&date_to=9999-12-31",
    "/coordinate/?sort=-" + "x" * 500,
    "/coordinate/?date_from=%00&page=-1",
    f"/coordinate/seats/{data.FULL}/?date_from=nope&date_to=%FF",
    "/coordinate/overflow/?seat=NOTASEAT",
    "/coordinate/overflow/?session=abc",
    "/coordinate/overflow/?session=99999999999999999999999",
    "/coordinate/overflow/?session=424242",
    "/coordinate/sms/?page=abc&status=exploded&kind=%00&opted_out=maybe",
    "/coordinate/sms/?page=99999999",
    "/coordinate/audit/?page=0",
]


@pytest.mark.parametrize("url", JUNK)
def test_junk_query_strings_never_fail_a_page(client, coordinator, area, url):
    response = client.get(url)
    assert response.status_code in (200, 400), response.status_code
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url", [
    "/coordinate/seats/XX/", "/coordinate/seats/" + "E" * 300 + "/", "/coordinate/runs/999999/",
    "/coordinate/runs/99999999999999999999999/", "/coordinate/sms/123456/", "/coordinate/audit/777/",
    "/coordinate/runs/999999/progress/",
])
def test_unknown_ids_are_html_404s(client, coordinator, area, url):
    response = client.get(url)
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_bad_dates_are_named_next_to_the_field(client, coordinator, area):
    response = client.get("/coordinate/?date_from=2026-01-10&date_to=2026-01-01")
    assert response.status_code == 200  # the default period is shown with the message
    assert b"The end must be on or after the start." in response.content
    assert b'aria-invalid="true"' in response.content and b'role="alert"' in response.content


def _shapes(content: bytes, kind: str) -> list[str]:
    svg = re.search(rb'<svg[^>]*class="map map-' + kind.encode() + rb'".*?</svg>', content, re.S).group(0)
    return re.findall(rb'<path d="[^"]+" fill="[^"]+" data-seat="([A-Z0-9]+)"', svg)


@pytest.mark.parametrize("kind", ["hex", "boundaries"])
def test_both_maps_draw_one_shape_per_seat_and_link_the_seats_in_frontroom(client, coordinator, area, kind):
    response = client.get(f"/coordinate/?map={kind}")
    codes = _shapes(response.content, kind)
    with open(django_settings.GEO_HEXJSON_PATH, encoding="utf-8") as handle:
        reference = set(json.load(handle)["hexes"])
    assert len(codes) == len(set(codes)) == 650
    assert {c.decode() for c in codes} == reference
    # each seat in Frontroom is a link to its page with a title naming it
    link = re.search(rb'<a href="/coordinate/seats/' + data.FULL.encode() + rb'/" tabindex="-1">'
                     rb'<title>([^<]+)</title><path [^>]*data-seat="' + data.FULL.encode() + rb'"', response.content)
    assert link and b"Croydon South: priority 1" in link.group(1)
    assert b'role="group" aria-labelledby="map-title" aria-describedby="map-desc"' in response.content


def test_the_colour_toggle_is_a_link_and_colours_by_fill(client, coordinator, area):
    page = client.get("/coordinate/").content.decode()
    toggle = re.search(r'<a href="([^"]+)"[^>]*>How full</a>', page).group(1).replace("&amp;", "&")
    assert "colour=fill" in toggle
    filled = client.get("/coordinate/" + toggle).content.decode()
    # Croydon South's slot is full: drawn in the "full" colour; Croydon East has no slots
    assert re.search(rf'fill="#2166ac" data-seat="{data.FULL}"', filled)
    assert re.search(rf'fill="#d4d4d4" data-seat="{data.FAR}"', filled)
    assert "full (1)" in filled


def test_the_table_sorts_by_each_column_and_matches_the_coverage_service(client, coordinator, area, settings):
    settings.SEAT_NEED_BY_PRIORITY = [0, 0, 0, 0, 0]  # only the seats with slots
    page = client.get("/coordinate/?sort=-waitlisted").content.decode()
    rows = re.findall(r'<th scope="row"><a href="/coordinate/seats/(E\d+)/">', page)
    assert rows == [data.FULL, data.NEAR]
    assert 'aria-sort="descending"' in page
    page = client.get("/coordinate/?sort=places").content.decode()
    assert re.findall(r'<th scope="row"><a href="/coordinate/seats/(E\d+)/">', page) == [data.FULL, data.NEAR]
    for key in ("priority", "shortfall", "need", "proven", "unproven", "places", "waitlisted", "overflow_sent",
                "overflow_received"):
        assert f"sort={key}" in page or f"sort=-{key}" in page


def test_seats_not_in_the_reference_map_are_listed_not_lost(client, coordinator, area):
    f.seat("E14000654", lat=51.372, lng=-0.090, name="Croydon Central")  # a 2010-set code: not on the 2024 map
    page = client.get("/coordinate/").content.decode()
    unmapped = page.split("1 seat in Frontroom is not on this map", 1)[1].split("</p>", 1)[0]
    assert "Croydon Central" in unmapped and "E14000654" not in unmapped  # its name, not a bare code


def test_a_missing_reference_file_leaves_the_table(client, coordinator, area, settings, tmp_path):
    settings.GEO_HEXJSON_PATH = tmp_path / "missing.hexjson"
    response = client.get("/coordinate/")
    assert response.status_code == 200
    assert b"could not be read" in response.content and b"Croydon South" in response.content


def test_the_seat_page_shows_result_sessions_neighbours_and_coverage(client, coordinator, area):
    page = client.get(f"/coordinate/seats/{data.FULL}/").content.decode()
    assert "Con won by 2,313 votes (4.7%) over Lab" in page
    assert "Won by 2,313 votes in 2024 (4.7%)" in page  # the priority's reason rounds the same share alike
    assert "Croydon West" in page and "Croydon East" in page
    assert f"Session {area.full_slot.session_id}" in page
    assert "Waitlisted" in page and "Preview the overflow of this seat" in page


def test_the_priority_controls_call_the_seat_service_and_are_audited(client, coordinator, area):
    response = client.post(f"/coordinate/seats/{data.FAR}/", {"priority_override": "1", "is_target": "on"})
    assert response.status_code == 302
    seat = Seat.objects.get(pk=data.FAR)
    assert (seat.priority_override, seat.is_target, seat.priority) == (1, True, 1)
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.SEAT_PRIORITY_SET)
    assert action.actor == coordinator and action.result["before"]["priority"] == 4
    client.post(f"/coordinate/seats/{data.FAR}/", {"priority_override": ""})
    seat.refresh_from_db()
    assert (seat.priority_override, seat.is_target, seat.priority) == (None, False, seat.computed_priority)


def test_a_bad_priority_is_refused_on_the_field(client, coordinator, area):
    response = client.post(f"/coordinate/seats/{data.FAR}/", {"priority_override": "9"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert Seat.objects.get(pk=data.FAR).priority == 4


def test_overflow_preview_then_carry_out_lands_in_the_audit_log(client, coordinator, area):
    preview = client.get(f"/coordinate/overflow/?seat={data.FULL}")
    page = preview.content.decode()
    assert "Waiting Person0" in page and "Croydon West" in page and " km" in page
    assert not OverflowMove.objects.exists()
    assert CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.OVERFLOW_PLANNED).count() == 1
    done = client.post("/coordinate/overflow/", {"seat": data.FULL, "session": ""})
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.OVERFLOW_EXECUTED)
    assert done.status_code == 302 and done["Location"] == f"/coordinate/audit/{action.pk}/"
    assert action.actor == coordinator and action.result["moved"] == 2
    for booking in area.waiting:
        booking.refresh_from_db()
        assert booking.status == Booking.Status.REDIRECTED and booking.redirected_to.slot_id == area.near_slot.pk
    shown = client.get(done["Location"]).content.decode()
    assert "Overflow carried out" in shown and "Waiting Person1" in shown
    # carrying it out again moves nobody twice
    client.post("/coordinate/overflow/", {"seat": data.FULL})
    assert OverflowMove.objects.count() == 2


def test_overflow_of_an_unknown_seat_is_an_inline_error(client, coordinator, area):
    response = client.post("/coordinate/overflow/", {"seat": "E14999999"})
    assert response.status_code == 400 and b"Unknown ONS code." in response.content
    response = client.post("/coordinate/overflow/", {})
    assert response.status_code == 400 and b"Give a seat or a session." in response.content
    assert not OverflowMove.objects.exists()


def test_an_assignment_run_starts_reports_progress_and_commits(client, coordinator, area,
                                                                django_capture_on_commit_callbacks):
    start, end = f.day_at(0), f.day_at(23)
    for n in range(3):
        f.volunteer(lat=area.near.lat, lng=area.near.lng, windows=[(start, end)], name=f"Avail Able{n}")
    today = start.date()
    with django_capture_on_commit_callbacks(execute=True):  # the solve task, eager as on `make run`
        response = client.post("/coordinate/runs/", {"date_from": today.isoformat(), "date_to": today.isoformat()})
    run = AssignmentRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/coordinate/runs/{run.pk}/"
    progress = client.get(f"/coordinate/runs/{run.pk}/progress/").json()
    assert progress["state"] == "ready" and progress["progress"] == 100 and progress["done"] is True
    page = client.get(f"/coordinate/runs/{run.pk}/").content.decode()
    assert "<progress" in page and "Commit: book 3 volunteers" in page and "Avail A." in page
    assert "Avail Able0" not in page  # the sample shows first names and initials only
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/coordinate/runs/{run.pk}/commit/")
    run.refresh_from_db()
    assert run.state == AssignmentRun.State.COMMITTED and run.totals["booked"] == 3
    assert CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.RUN_COMMITTED, actor=coordinator).exists()


def test_a_working_run_refreshes_itself_without_javascript(client, coordinator, area):
    run = AssignmentRunFactory(params={"date_from": "2026-01-01T00:00:00+00:00",
                                               "date_to": "2026-01-02T00:00:00+00:00"}, progress=40,
                                       state=AssignmentRun.State.RUNNING, progress_message="Solving")
    page = client.get(f"/coordinate/runs/{run.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<progress id="run-bar" class="progress" max="100" value="40">' in page
    assert "run-progress" in page and ".js" in page


def test_a_run_with_a_bad_period_is_refused_on_the_field(client, coordinator, area):
    response = client.post("/coordinate/runs/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 400 and b"The end must be on or after the start." in response.content
    response = client.post("/coordinate/runs/", {"date_from": "yesterday", "region": "Nowhere"})
    assert response.status_code == 400
    assert not AssignmentRun.objects.exists()


def test_committing_a_run_that_is_not_ready_says_so(client, coordinator, area):
    run = AssignmentRunFactory(params={}, state=AssignmentRun.State.FAILED)
    response = client.post(f"/coordinate/runs/{run.pk}/commit/", follow=True)
    assert b"cannot be committed" in response.content


@pytest.fixture
def messages_logged(area):
    booking = area.waiting[0]
    return {
        "failed": data.sms(booking, status=SmsMessage.Status.FAILED, error_code=30003, attempts=3),
        "skipped": data.sms(area.waiting[1], status=SmsMessage.Status.SKIPPED, skip_reason="opted_out"),
        "delivered": data.sms(booking, status=SmsMessage.Status.DELIVERED, attempts=1),
    }


def test_the_sms_log_filters_and_masks_numbers(client, coordinator, messages_logged):
    failed = messages_logged["failed"]
    page = client.get("/coordinate/sms/?status=failures").content.decode()
    assert f"/coordinate/sms/{failed.pk}/" in page and f"/coordinate/sms/{messages_logged['delivered'].pk}/" not in page
    assert failed.to not in page and failed.to[-3:] in page and "30003" in page
    retried = client.get("/coordinate/sms/?retried=on").content.decode()
    assert f"/coordinate/sms/{failed.pk}/" in retried and f"/coordinate/sms/{messages_logged['skipped'].pk}/" not in retried
    Booking.objects.filter(pk=messages_logged["skipped"].booking_id)  # opted-out volunteers
    messages_logged["skipped"].volunteer.__class__.objects.filter(pk=messages_logged["skipped"].volunteer_id) \
        .update(sms_opted_out=True)
    opted = client.get("/coordinate/sms/?opted_out=on").content.decode()
    assert f"/coordinate/sms/{messages_logged['skipped'].pk}/" in opted and "opted out" in opted
    assert f"/coordinate/sms/{failed.pk}/" not in opted


@pytest.mark.parametrize("backend, words, not_words", [
    ("console", "Written to the log", "Accepted by Twilio"),
    ("locmem", "Kept in memory", "Accepted by Twilio"),
    ("twilio", "Accepted by Twilio", "Written to the log"),
])
def test_the_sms_log_says_what_the_configured_backend_did(client, coordinator, area, settings, backend, words,
                                                           not_words):
    settings.SMS_BACKEND = backend
    queued = data.sms(area.waiting[0], status=SmsMessage.Status.QUEUED, attempts=1)
    for page in (client.get("/coordinate/sms/").content.decode(),
                 client.get(f"/coordinate/sms/{queued.pk}/").content.decode()):
        assert words in page and not_words not in page


def test_the_sms_log_pages(client, coordinator, area, monkeypatch):
    from web.coordinators.views import deliveries

    monkeypatch.setattr(deliveries, "SMS_PAGE_SIZE", 2)
    for attempts in range(1, 6):
        data.sms(area.waiting[0], status=SmsMessage.Status.FAILED, attempts=attempts)
    first = client.get("/coordinate/sms/?status=failed").content.decode()
    assert "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get("/coordinate/sms/?status=failed&page=3").content.decode()
    assert "status=failed" in last  # the pager keeps the filter
    assert "Page 3 of 3" in last and 'rel="prev"' in last


def test_the_audit_log_pages(client, coordinator, monkeypatch):
    from web.coordinators.views import records

    monkeypatch.setattr(records, "AUDIT_PAGE_SIZE", 2)
    for seat in range(5):
        CoordinatorActionFactory(actor=coordinator, kind=CoordinatorAction.Kind.SEAT_PRIORITY_SET,
                                 params={"seat": f"E1400{seat:04d}"}, result={})
    first = client.get("/coordinate/audit/").content.decode()
    assert "Page 1 of 3" in first and 'href="?page=2" rel="next"' in first and 'rel="prev"' not in first
    last = client.get("/coordinate/audit/?page=3").content.decode()
    assert "Page 3 of 3" in last and 'href="?page=2" rel="prev"' in last and 'rel="next"' not in last


def test_showing_a_number_is_a_post_and_is_audited(client, coordinator, messages_logged):
    message = messages_logged["failed"]
    masked = client.get(f"/coordinate/sms/{message.pk}/").content.decode()
    assert message.to not in masked and "Waiting Person0" not in masked
    assert not CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.PERSONAL_DATA).exists()
    shown = client.post(f"/coordinate/sms/{message.pk}/").content.decode()
    assert message.to in shown and "Waiting Person0" in shown
    assert message.booking.manage_token not in shown  # the private link's token stays hidden
    action = CoordinatorAction.objects.get(kind=CoordinatorAction.Kind.PERSONAL_DATA)
    assert action.actor == coordinator
    assert action.params == {"action": "viewed", "where": "coordinator sms message", "message": message.pk,
                             "fields": ["to", "name", "body"]}
    assert action.result == {"volunteers": [message.volunteer_id]}
    assert "Personal data viewed, exported or erased" in client.get("/coordinate/audit/").content.decode()


def test_a_failed_message_is_sent_again_once(client, coordinator, messages_logged):
    message = messages_logged["failed"]
    client.post(f"/coordinate/sms/{message.pk}/retry/")
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.PENDING
    assert CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.SMS_RETRIED).count() == 1
    again = client.post(f"/coordinate/sms/{message.pk}/retry/", follow=True)
    assert b"Only a failed or unsent message" in again.content
    assert CoordinatorAction.objects.filter(kind=CoordinatorAction.Kind.SMS_RETRIED).count() == 1


def test_the_topojson_decoder_projects_quantised_arcs_and_shares_them():
    # two unit squares side by side sharing the middle arc (quantised, delta-encoded)
    topology = {
        "type": "Topology", "transform": {"scale": [0.5, 0.5], "translate": [-2.0, 54.0]},
        "arcs": [[[2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2], [2, 0]], [[2, 0], [2, 0], [0, 2], [-2, 0]]],
        "objects": {"x": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1]], "properties": {"PCON13CD": "W"}},
            {"type": "Polygon", "arcs": [[2, ~0]], "properties": {"PCON13CD": "E"}},
        ]}},
    }
    paths = maps.topology_paths(topology, tolerance=0.0)
    west = [tuple(map(float, p.split(","))) for p in paths["W"][1:-1].split()]
    east = [tuple(map(float, p.split(","))) for p in paths["E"][1:-1].split()]
    assert len(west) == len(east) == 4
    shared = set(west) & set(east)
    assert len(shared) == 2  # the middle arc, walked forwards by one and backwards by the other
    xs = sorted({x for x, _ in west + east})
    assert len(xs) == 3 and xs[0] < xs[1] < xs[2]
    north = min(y for _, y in west)
    assert north < max(y for _, y in west)  # north is up: larger latitude, smaller y


def test_projected_boundaries_are_cached_on_disk(settings, tmp_path):
    settings.MAP_CACHE_DIR = tmp_path
    maps._shapes.cache_clear()
    try:
        shapes = maps.map_shapes("hex")
        assert shapes is not None and len(shapes.paths) == 650
        assert list(tmp_path.glob("map-hex-*.json"))
    finally:
        maps._shapes.cache_clear()


def test_seats_are_named_not_coded_in_the_overflow_form_and_the_audit_log(client, coordinator, area):
    from urllib.parse import quote

    page = client.get(f"/coordinate/overflow/?seat={quote('croydon south')}")
    assert page.status_code == 200 and "Waiting Person0" in page.content.decode()
    client.post(f"/coordinate/seats/{data.NEAR}/", {"priority_override": "2"})
    audit = client.get("/coordinate/audit/").content.decode()
    row = audit.split("Seat priority or target changed", 1)[1].split("</tr>", 1)[0]
    assert "Croydon West" in row and data.NEAR not in row
