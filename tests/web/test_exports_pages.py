"""CSV downloads from the pages and the admin: the host's roster, the coordinators' exports page and its four
files, and the admin's "Export selected as CSV" actions; owners and staff only, audited, bad input a page."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from dispatch.models import CoordinatorAction
from notify.sms.models import SmsMessage
from tests.factories import SlotFactory, UserFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import Booking, Volunteer

pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def slot():
    return slot_make(capacity=5)


@pytest.fixture
def bookings(slot):
    return [booking_make(slot=slot, volunteer=volunteer_make(name=name, phone=phone))
            for name, phone in (("@SUM(1+1)*cmd|' /C calc'!A0", "+447400200001"), ("Ada", "+447400200002"))]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_host_downloads_their_roster_from_the_session_page(slot, bookings):
    host = _client(slot.session.meeting_point.host)
    page = host.get(f"/host/sessions/{slot.session_id}/").content.decode()
    assert f'href="/host/sessions/{slot.session_id}/roster.csv"' in page
    rows = _rows(host.get(f"/host/sessions/{slot.session_id}/roster.csv"))
    assert [row["phone"] for row in rows] == ["+447400200001", "+447400200002"]
    assert rows[0]["name"] == "'@SUM(1+1)*cmd|' /C calc'!A0"


def test_another_host_gets_the_same_404_and_anonymous_goes_to_sign_in(slot, bookings):
    stranger = _client(UserFactory(username="mallory"))
    response = stranger.get(f"/host/sessions/{slot.session_id}/roster.csv")
    missing = stranger.get("/host/sessions/999999999/roster.csv")
    assert response.status_code == missing.status_code == 404
    assert b"Ada" not in response.content and not isinstance(response, StreamingHttpResponse)
    anonymous = Client().get(f"/host/sessions/{slot.session_id}/roster.csv")
    assert anonymous.status_code == 302 and "/host/login/" in anonymous["Location"]


@pytest.fixture
def coordinator():
    return UserFactory(username="coord", is_staff=True, is_superuser=True)


DOWNLOADS = ["/coordinate/exports/bookings.csv", "/coordinate/exports/volunteers.csv",
             "/coordinate/exports/coverage.csv", "/coordinate/exports/sms-failures.csv"]


def test_the_exports_page_offers_the_four_downloads(coordinator):
    page = _client(coordinator).get("/coordinate/exports/").content.decode()
    for url in DOWNLOADS:
        assert f'action="{url}"' in page
    assert 'aria-current="page">Exports' in page
    assert 'href="/coordinate/exports/coverage.csv?' in _client(coordinator).get("/coordinate/").content.decode()
    assert 'href="/coordinate/exports/sms-failures.csv"' in _client(coordinator).get("/coordinate/sms/").content.decode()


@pytest.mark.parametrize("url", ["/coordinate/exports/", *DOWNLOADS])
def test_exports_are_for_staff_only(url, slot):
    assert _client(slot.session.meeting_point.host).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/host/login/?next=/coordinate/exports/")


def test_each_download_streams_its_rows_and_exports_of_people_are_audited(coordinator, slot, bookings):
    client = _client(coordinator)
    booked = _rows(client.get("/coordinate/exports/bookings.csv?status=confirmed"))
    assert [row["volunteer_phone"] for row in booked] == ["'+44 7••• •••001", "'+44 7••• •••002"]
    people = _rows(client.get("/coordinate/exports/volunteers.csv?consent_sms=yes"))
    assert {row["name"] for row in people} == {"'@SUM(1+1)*cmd|' /C calc'!A0", "Ada"}
    seats = _rows(client.get("/coordinate/exports/coverage.csv"))
    assert [(row["seat"], row["confirmed"]) for row in seats] == [(slot.session.seat_id, "2")]
    SmsMessage.objects.filter(pk=SmsMessage.objects.order_by("id").first().pk).update(status=SmsMessage.Status.FAILED)
    assert len(_rows(client.get("/coordinate/exports/sms-failures.csv"))) == 1
    exported = CoordinatorAction.objects.filter(params__action="exported").values_list("params__export", flat=True)
    assert sorted(exported) == ["bookings", "sms_failures", "volunteers"]


@pytest.mark.parametrize(("url", "message"), [
    ("/coordinate/exports/bookings.csv?date_from=2030-02-02&date_to=2030-02-01", "The end must be on or after"),
    ("/coordinate/exports/bookings.csv?date_from=someday", "Enter a date, like 06/12/2026"),
    ("/coordinate/exports/bookings.csv?status=lost", "Select a valid choice"),
    ("/coordinate/exports/volunteers.csv?consent_sms=maybe", "Select a valid choice"),
    ("/coordinate/exports/coverage.csv?date_from=2030-02-02&date_to=2030-02-01", "The end must be on or after"),
    ("/coordinate/exports/sms-failures.csv?sms-date_from=nope", "Enter a date, like 06/12/2026"),
])
def test_bad_input_is_the_page_again_with_the_fields_error(coordinator, url, message):
    response = _client(coordinator).get(url)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert not CoordinatorAction.objects.filter(params__action="exported").exists()


def test_admin_export_selected_bookings_as_csv(coordinator, slot, bookings):
    client = _client(coordinator)
    chosen = bookings[1]
    response = client.post("/admin/volunteers/booking/", {"action": "export_csv", "_selected_action": [chosen.pk]})
    rows = _rows(response)
    assert [int(row["booking_id"]) for row in rows] == [chosen.pk]
    assert rows[0]["volunteer_phone"] == "'+44 7••• •••002"
    action = CoordinatorAction.objects.get(params__export="bookings")
    assert action.result["volunteers"] == [chosen.volunteer_id]


def test_admin_export_selected_volunteers_as_csv_with_consent(coordinator, bookings):
    client = _client(coordinator)
    ada = Volunteer.objects.get(name="Ada")
    rows = _rows(client.post("/admin/volunteers/volunteer/", {"action": "export_csv", "_selected_action": [ada.pk]}))
    assert len(rows) == 1 and rows[0]["name"] == "Ada" and rows[0]["consent_sms"] == "yes"
    assert CoordinatorAction.objects.get(params__export="volunteers").result["volunteers"] == [ada.pk]


def test_admin_export_selected_sms_keeps_only_failures(coordinator, bookings):
    client = _client(coordinator)
    texts = list(SmsMessage.objects.order_by("id").values_list("pk", flat=True))
    SmsMessage.objects.filter(pk=texts[0]).update(status=SmsMessage.Status.FAILED, error_code=21614)
    rows = _rows(client.post("/admin/sms/smsmessage/", {"action": "export_failures_csv",
                                                        "_selected_action": texts}))
    assert [int(row["message_id"]) for row in rows] == [texts[0]] and rows[0]["error_code"] == "21614"
    assert Booking.objects.count() == 2  # nothing else happened


def test_the_roster_gives_local_times_to_the_minute_across_a_clock_change():
    """Europe/London: 10:00 on the Saturday before the clocks go forward is 10:00 UTC, on the Sunday 09:00 UTC."""
    from datetime import datetime
    from zoneinfo import ZoneInfo


    london = ZoneInfo("Europe/London")
    saturday = slot_make(capacity=5)
    session = saturday.session
    for slot, day in ((saturday, 27), (SlotFactory(session=session, starts_at=saturday.starts_at,
                                                      ends_at=saturday.ends_at, capacity=5, turf=""), 28)):
        slot.starts_at = datetime(2027, 3, day, 10, 0, 0, 123456, tzinfo=london)
        slot.ends_at = datetime(2027, 3, day, 12, 30, tzinfo=london)
        slot.save()
        booking_make(slot=slot)
    rows = _rows(_client(session.meeting_point.host).get(f"/host/sessions/{session.pk}/roster.csv"))
    assert [(row["slot_starts_at"], row["slot_ends_at"]) for row in rows] == [
        ("2027-03-27 10:00", "2027-03-27 12:30"), ("2027-03-28 10:00", "2027-03-28 12:30")]
    assert all(len(row["booked_at"]) == len("2027-03-27 10:00") for row in rows)
