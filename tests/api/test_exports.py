"""CSV exports over the API: the host's roster (Accept: text/csv or ?format=csv) and the coordinators' bookings,
volunteers, coverage and SMS failures; streamed, formula-safe, only what the caller may see, audited."""

import csv
import io
from datetime import timedelta

import factory
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import CoordinatorAction
from notify.sms.models import SmsMessage
from tests.factories import BookingFactory, VolunteerFactory, book_via_api
from volunteers.models import Booking, Volunteer

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="') and ".csv" in response[
        "Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


@pytest.fixture
def booked(api, slot):
    book_via_api(api, slot, phone="07400 100001", name="=HYPERLINK(\"http://evil\",\"x\")")
    book_via_api(api, slot, phone="07400 100002", name="Grace Hopper", email="grace@example.org")
    return slot


def test_the_host_downloads_their_roster_as_csv_with_full_numbers(host_api, booked):
    for response in (host_api.get(f"/api/sessions/{booked.session_id}/bookings/", HTTP_ACCEPT="text/csv"),
                     host_api.get(f"/api/sessions/{booked.session_id}/bookings/?format=csv")):
        rows = _csv(response)
        assert f"roster-session-{booked.session_id}.csv" in response["Content-Disposition"]
        assert [row["phone"] for row in rows] == ["+447400100001", "+447400100002"]  # numbers are not prefixed
        assert rows[0]["name"] == "'=HYPERLINK(\"http://evil\",\"x\")"  # a formula is defused
        assert rows[1]["email"] == "grace@example.org" and rows[1]["status"] == "confirmed"
        assert rows[1]["proven"] == "yes"
    # JSON stays the default, paginated as before.
    assert host_api.get(f"/api/sessions/{booked.session_id}/bookings/").json()["count"] == 2


def test_the_roster_csv_filters_by_status_and_refuses_unknown_ones(host_api, booked):
    url = f"/api/sessions/{booked.session_id}/bookings/?format=csv"
    assert _csv(host_api.get(url + "&status=waitlisted")) == []
    bad = host_api.get(url + "&status=nope")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"
    assert "status" in bad.json()["error"]["fields"]


def test_the_roster_csv_refuses_paging_the_schema_does_not_allow(host_api, booked):
    # The CSV is the whole roster, but a limit or offset out of the stated range is still a 400 naming it.
    url = f"/api/sessions/{booked.session_id}/bookings/?format=csv"
    for query, field in (("&limit=-5", "limit"), ("&limit=0", "limit"), ("&offset=-1", "offset")):
        bad = host_api.get(url + query)
        assert bad.status_code == 400 and bad["Content-Type"] == "application/json", query
        assert field in bad.json()["error"]["fields"], query
    assert host_api.get(url + "&limit=10").status_code == 200


def test_another_host_cannot_export_the_roster_and_anonymous_gets_401(other_host_api, api, booked):
    url = f"/api/sessions/{booked.session_id}/bookings/?format=csv"
    response = other_host_api.get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert b"Hopper" not in response.content
    anonymous = APIClient().get(url, HTTP_ACCEPT="text/csv")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"


EXPORTS = ["/api/exports/bookings/", "/api/exports/volunteers/", "/api/exports/coverage/",
           "/api/exports/sms-failures/"]


@pytest.mark.parametrize("url", EXPORTS)
def test_coordinators_exports_are_for_coordinators_only(host_api, url, booked):
    assert host_api.get(url).status_code == 403
    assert host_api.get(url).json()["error"]["code"] == "permission_denied"
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", EXPORTS)
def test_a_json_only_client_is_told_406_in_the_error_shape(coordinator_api, url):
    response = coordinator_api.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 406 and response.json()["error"]["code"] == "not_acceptable"


def test_coordinators_bookings_export_masks_numbers_and_is_audited(coordinator_api, booked):
    before = CoordinatorAction.objects.count()
    rows = _csv(coordinator_api.get("/api/exports/bookings/", HTTP_ACCEPT="text/csv"))
    # A masked number is not a plain number, so it gets the quote like any cell starting with +.
    assert [row["volunteer_phone"] for row in rows] == ["'+44 7••• •••001", "'+44 7••• •••002"]
    assert rows[1]["volunteer_name"] == "Grace Hopper" and rows[1]["seat"] == "E14000922"
    assert rows[1]["session_title"] == booked.session.title and rows[1]["postcode_district"] == "S10"
    assert "email" not in rows[0] and "+447400100001" not in str(rows)
    actions = CoordinatorAction.objects.order_by("id")[before:]
    assert [(a.params["action"], a.params["export"]) for a in actions] == [("exported", "bookings")]
    assert [row["status"] for row in _csv(coordinator_api.get("/api/exports/bookings/?status=waitlisted"))] == []


def test_the_bookings_export_filters_by_period_and_says_which_field_is_wrong(coordinator_api, booked):
    start = booked.starts_at
    inside = coordinator_api.get("/api/exports/bookings/", {"date_from": (start - timedelta(hours=1)).isoformat(),
                                                            "date_to": (start + timedelta(hours=1)).isoformat()})
    assert len(_csv(inside)) == 2
    later = coordinator_api.get("/api/exports/bookings/", {"date_from": (start + timedelta(hours=1)).isoformat()})
    assert _csv(later) == []
    bad = coordinator_api.get("/api/exports/bookings/?date_from=yesterday")
    assert bad.status_code == 400 and "date_from" in bad.json()["error"]["fields"]
    backwards = coordinator_api.get("/api/exports/bookings/", {"date_from": start.isoformat(),
                                                               "date_to": (start - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 400 and "date_to" in backwards.json()["error"]["fields"]


def test_the_volunteers_export_has_consent_with_its_time_and_version(coordinator_api, booked):
    VolunteerFactory(phone="+447400100003", name="No Texts", postcode="S10 1AA", lat=53.38, lng=-1.5)
    rows = _csv(coordinator_api.get("/api/exports/volunteers/"))
    by_name = {row["name"]: row for row in rows}
    grace = by_name["Grace Hopper"]
    assert grace["consent_sms"] == "yes" and grace["consent_sms_at"] and grace["consent_sms_version"]
    assert grace["phone"] == "'+44 7••• •••002" and "email" not in grace
    assert by_name["No Texts"]["consent_sms"] == "no" and by_name["No Texts"]["consent_sms_at"] == ""
    assert {row["name"] for row in _csv(coordinator_api.get("/api/exports/volunteers/?consent_sms=no"))} == {
        "No Texts"}
    assert coordinator_api.get("/api/exports/volunteers/?consent_sms=maybe").status_code == 400
    assert CoordinatorAction.objects.filter(params__export="volunteers").count() == 2  # the 400 is not an export


def test_the_coverage_export_has_one_row_per_seat(coordinator_api, booked):
    rows = _csv(coordinator_api.get("/api/exports/coverage/"))
    assert len(rows) == 1
    row = rows[0]
    assert row["seat"] == "E14000922" and row["places"] == "3" and row["confirmed"] == "2"
    assert row["name"] == "Sheffield, Hallam"
    bad = coordinator_api.get("/api/exports/coverage/?date_from=2030-01-02T00:00Z&date_to=2030-01-01T00:00Z")
    assert bad.status_code == 400 and "date_to" in bad.json()["error"]["fields"]


def test_the_sms_failures_export_lists_only_failures_without_bodies(coordinator_api, booked):
    texts = SmsMessage.objects.order_by("id")
    failed, undelivered = texts[0], texts[1]
    SmsMessage.objects.filter(pk=failed.pk).update(status=SmsMessage.Status.FAILED, error_code=21211,
                                                  error_message="Invalid 'To' Phone Number")
    SmsMessage.objects.filter(pk=undelivered.pk).update(status=SmsMessage.Status.UNDELIVERED, error_code=30003,
                                                       twilio_sid="SM" + "0" * 32)
    rows = _csv(coordinator_api.get("/api/exports/sms-failures/"))
    assert {int(row["message_id"]) for row in rows} == {failed.pk, undelivered.pk}
    assert all(row["to"].startswith("'+44 7•••") for row in rows)
    body = str(rows)
    assert failed.body not in body and "Hopper" not in body
    assert CoordinatorAction.objects.filter(params__export="sms_failures").exists()
    assert _csv(coordinator_api.get("/api/exports/sms-failures/", {
        "since": (timezone.now() + timedelta(hours=1)).isoformat()})) == []


def test_the_schema_documents_the_csv_answers_and_their_columns(api):
    schema = api.get("/api/schema/?format=json").json()
    roster = schema["paths"]["/api/sessions/{session_id}/bookings/"]["get"]["responses"]["200"]["content"]
    assert set(roster) >= {"application/json", "text/csv"}
    for path, column in [("/api/exports/bookings/", "volunteer_phone"), ("/api/exports/volunteers/", "consent_sms_at"),
                         ("/api/exports/coverage/", "fill_pct"), ("/api/exports/sms-failures/", "error_code")]:
        responses = schema["paths"][path]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["text/csv"]
        assert f"`{column}`" in responses["200"]["description"]
        assert list(responses["403"]["content"]) == ["application/json"]  # errors stay JSON


def test_the_bookings_export_streams_from_a_server_side_cursor(coordinator_api, slot):
    """Not a benchmark: the answer is a StreamingHttpResponse, and while its first chunk is out the query is still
    an open PostgreSQL cursor (rows fetched as they are written), not a list in memory."""
    # Built by the factories, written in two statements: 450 rows one by one would be most of the test's time.
    volunteers = Volunteer.objects.bulk_create(VolunteerFactory.build_batch(450))
    Booking.objects.bulk_create(BookingFactory.build_batch(450, volunteer=factory.Iterator(volunteers), slot=slot,
                                                           status=Booking.Status.WAITLISTED))
    response = coordinator_api.get("/api/exports/bookings/")
    assert isinstance(response, StreamingHttpResponse)
    chunks = iter(response.streaming_content)
    first = next(chunks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE statement ILIKE '%%volunteers_booking%%'")
        open_cursors = cursor.fetchone()[0]
    assert open_cursors == 1
    rest = b"".join(chunks)
    assert len((first + rest).decode().splitlines()) == 451
