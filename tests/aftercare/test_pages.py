"""The after-the-knock pages: the volunteer's feedback and check-in pages, the host's check-in list and report (on
their pages and by link), and the coordinators' report, CSV, live turnout and over-booking setting."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.aftercare.helpers import booked_slot
from tests.factories import FeedbackFactory, SessionReportFactory, UserFactory
from volunteers import aftercare
from volunteers.models import Booking, Feedback, SeatTurnoutPolicy, SessionReport

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}


# ---- the volunteer -------------------------------------------------------------------------------------------

def test_the_feedback_page_saves_the_answers_and_offers_the_next_sessions(client):
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    nearby, _ = booked_slot(people=0)
    url = f"/b/{booking.manage_token}/after"
    page = client.get(url, **BROWSER)
    assert page.status_code == 200 and "Did you go?" in page.content.decode()
    assert nearby.session.title not in page.content.decode() or "Come again" not in page.content.decode()
    response = client.post(url, {"went": "yes", "rating": "5", "again": "yes", "comment": "Great fun"}, **BROWSER)
    assert response.status_code == 302 and response["Location"] == url
    feedback = Feedback.objects.get(booking=booking)
    assert (feedback.went, feedback.rating, feedback.again, feedback.comment) == (True, 5, True, "Great fun")
    page = client.get(url, **BROWSER).content.decode()
    assert "Come again" in page and f"/s/{nearby.session_id}/" in page
    assert 'value="5" checked' in page or 'checked value="5"' in page or "checked" in page


def test_a_bad_answer_is_shown_on_its_field_and_nothing_is_saved(client):
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    response = client.post(f"/b/{booking.manage_token}/after", {"rating": "9"}, **BROWSER)
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not Feedback.objects.exists()


def test_feedback_is_closed_before_the_slot_ends_and_an_unknown_link_is_not_found(client):
    _, (booking,) = booked_slot()
    response = client.post(f"/b/{booking.manage_token}/after", {"rating": "5"}, **BROWSER)
    assert response.status_code == 200 and "can't be given feedback now" in response.content.decode()
    assert not Feedback.objects.exists()
    assert client.get("/b/not-a-real-token-xyz/after", **BROWSER).status_code == 404


def test_a_link_preview_sees_neither_the_answers_nor_the_next_sessions(client):
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    FeedbackFactory(booking=booking, went=True, rating=2, comment="Secret words")
    page = client.get(f"/b/{booking.manage_token}/after", HTTP_USER_AGENT="WhatsApp/2.23").content.decode()
    assert "Secret words" not in page and "Come again" not in page


def test_the_volunteer_checks_in_with_the_hosts_code_from_their_page(client):
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=5))
    manage = client.get(f"/b/{booking.manage_token}", **BROWSER).content.decode()
    assert f"/b/{booking.manage_token}/here/" in manage
    url = f"/b/{booking.manage_token}/here/"
    wrong = f"{(int(aftercare.check_in_code(slot)) + 1) % 10000:04d}"
    response = client.post(url, {"code": wrong}, **BROWSER)
    assert response.status_code == 200 and "Check the code your host shows" in response.content.decode()
    response = client.post(url, {"code": aftercare.check_in_code(slot)}, **BROWSER)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED
    assert "checked in" in client.get(url, **BROWSER).content.decode()


def test_check_in_is_not_offered_on_another_day(client):
    slot, (booking,) = booked_slot(starts_at=timezone.now() + timedelta(days=1))
    assert f"/b/{booking.manage_token}/here/" not in client.get(f"/b/{booking.manage_token}", **BROWSER).content.decode()
    response = client.post(f"/b/{booking.manage_token}/here/", {"code": aftercare.check_in_code(slot)}, **BROWSER)
    assert response.status_code == 200 and "Checking in opens" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_the_pages_are_in_welsh(client):
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    client.cookies["django_language"] = "cy"
    page = client.get(f"/b/{booking.manage_token}/after", HTTP_ACCEPT_LANGUAGE="cy", **BROWSER).content.decode()
    assert "Sut aeth hi?" in page


# ---- the host ------------------------------------------------------------------------------------------------

def test_the_host_marks_arrivals_from_the_check_in_list_with_the_code_shown(client):
    slot, (first, second) = booked_slot(people=2, starts_at=timezone.now() - timedelta(minutes=5))
    host = slot.session.meeting_point.host
    client.force_login(host)
    page = client.get(f"/host/sessions/{slot.session_id}/check-in/").content.decode()
    assert aftercare.check_in_code(slot) in page and "0 arrived of 2 booked" in page
    response = client.post(f"/host/sessions/{slot.session_id}/check-in/{first.pk}/", {"attended": "yes"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Booking.Status.ATTENDED
    assert "1 arrived of 2 booked" in client.get(f"/host/sessions/{slot.session_id}/check-in/").content.decode()


def test_another_host_cannot_see_the_list_nor_mark_anyone(client):
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=5))
    other = UserFactory(username="otherhost", email="", standing=False)
    client.force_login(other)
    assert client.get(f"/host/sessions/{slot.session_id}/check-in/").status_code == 404
    assert client.post(f"/host/sessions/{slot.session_id}/check-in/{booking.pk}/",
                       {"attended": "yes"}).status_code == 404
    assert client.get(f"/host/sessions/{slot.session_id}/report/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_the_host_files_the_report_with_friendly_field_errors(client):
    slot, _ = booked_slot(ended_ago=timedelta(minutes=30))
    client.force_login(slot.session.meeting_point.host)
    url = f"/host/sessions/{slot.session_id}/report/"
    response = client.post(url, {"doors": "-3", "conversations": "1", "note": ""})
    assert response.status_code == 200 and "There is a problem" in response.content.decode()
    response = client.post(url, {"doors": "10", "conversations": "12", "note": ""})
    assert "No more conversations than doors knocked." in response.content.decode()
    assert not SessionReport.objects.exists()
    response = client.post(url, {"doors": "60", "conversations": "14", "note": "Two asked for posters"})
    assert response.status_code == 302
    assert SessionReport.objects.get().doors == 60


def test_the_report_link_works_without_signing_in_and_a_bad_one_is_not_found(client):
    slot, _ = booked_slot(ended_ago=timedelta(minutes=30))
    token = aftercare.report_link_token(slot.session)
    response = client.post(f"/r/{token}/", {"doors": "30", "conversations": "9", "note": ""})
    assert response.status_code == 302
    assert SessionReport.objects.get(session=slot.session).conversations == 9
    assert client.get(f"/r/{token}x/").status_code == 404
    assert client.get(f"/r/{slot.session_id}/").status_code == 404


# ---- coordinators --------------------------------------------------------------------------------------------

@pytest.fixture
def coordinator(client):
    user = UserFactory(username="national", is_staff=True, email="", standing=False)
    client.force_login(user)
    return user


def test_the_coordinator_report_csv_and_seat_page_add_it_all_up(client, coordinator):
    slot, (came, missed, rated) = booked_slot(people=3, ended_ago=timedelta(hours=2))
    Booking.objects.filter(pk__in=[came.pk, rated.pk]).update(status=Booking.Status.ATTENDED)
    Booking.objects.filter(pk=missed.pk).update(status=Booking.Status.NO_SHOW)
    FeedbackFactory(booking=rated, went=True, rating=4, again=True)
    SessionReportFactory(session=slot.session, doors=70, conversations=21, note="=HYPERLINK(bad)")
    day = timezone.localtime(slot.starts_at).date().isoformat()
    page = client.get(f"/coordinate/after/?date_from={day}&date_to={day}").content.decode()
    assert "70" in page and "21" in page and "4.0" in page
    response = client.get(f"/coordinate/after/report.csv?date_from={day}&date_to={day}")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["booked"], row["attended"], row["no_show"], row["doors"], row["ratings"]) == ("3", "2", "1", "70", "1")
    assert not row["notes"].startswith("=")
    seat_page = client.get(f"/coordinate/seats/{slot.session.seat_id}/").content.decode()
    assert "After the sessions" in seat_page and "70" in seat_page


def test_a_bad_period_is_a_friendly_400(client, coordinator):
    response = client.get("/coordinate/after/?date_from=2026-05-10&date_to=2026-05-01")
    assert response.status_code == 400 and "on or after the start" in response.content.decode()
    assert client.get("/coordinate/after/report.csv?date_from=nonsense").status_code == 400


def test_live_turnout_shows_todays_check_ins_next_to_places_booked(client, coordinator):
    slot, (first, _second) = booked_slot(people=2, starts_at=timezone.now() - timedelta(minutes=5))
    aftercare.booking_check_in(manage_token=first.manage_token, code=aftercare.check_in_code(slot))
    response = client.get("/coordinate/live/")
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"] and 'http-equiv="refresh"' in page
    assert slot.session.seat.name in page
    assert '<td class="num"><strong>1</strong></td>' in page


def test_the_coordinator_sets_confirm_or_release_for_a_seat_with_a_plain_form(client, coordinator):
    from dispatch.models import CoordinatorAction
    from seats.models import Seat

    slot, _ = booked_slot(people=0, capacity=8)
    seat = slot.session.seat_id
    page = client.get(f"/coordinate/seats/{seat}/").content.decode()
    assert f'action="/coordinate/seats/{seat}/confirm/"' in page and 'name="confirm_required"' in page
    assert 'name="confirm_required" id="confirm-required-' in page and " checked" not in page.split("confirm_required")[1][:120]
    response = client.post(f"/coordinate/seats/{seat}/confirm/", {"confirm_required": "on"})
    assert response.status_code == 302 and response["Location"] == f"/coordinate/seats/{seat}/"
    assert Seat.objects.get(pk=seat).confirm_required
    from volunteers.confirmations import confirm_required

    assert confirm_required(slot.session.__class__.objects.get(pk=slot.session_id))  # every session of the seat
    page = client.get(f"/coordinate/seats/{seat}/").content.decode()
    assert "Places nobody confirmed now go to the waitlist" in page
    client.post(f"/coordinate/seats/{seat}/confirm/", {})  # unticked: off
    assert not Seat.objects.get(pk=seat).confirm_required
    actions = CoordinatorAction.objects.filter(kind="seat_confirm_set").order_by("id")
    assert list(actions.values_list("result", flat=True)) == [{"before": False, "after": True},
                                                            {"before": True, "after": False}]


def test_the_coordinator_switches_over_booking_on_for_a_seat(client, coordinator):
    slot, _ = booked_slot(people=0, capacity=8)
    response = client.post(f"/coordinate/seats/{slot.session.seat_id}/overbook/", {"overbook": "on"})
    assert response.status_code == 302
    assert SeatTurnoutPolicy.objects.get(seat_id=slot.session.seat_id).overbook
    slot.refresh_from_db()
    assert slot.overbook == 2
