"""A host sees who is coming to their front room, and records who came."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import SlotFactory, book_via_api
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db


def _book(api, slot, n: int, name: str | None = None) -> dict:
    return book_via_api(api, slot, phone=f"07400 1000{n:02d}", name=name or f"Volunteer {n}")


@pytest.fixture
def booked(api, slot):
    """A slot of 3 places: three confirmed, two on the waitlist, and one who cancelled."""
    bookings = [_book(api, slot, n) for n in range(6)]
    assert [b["status"] for b in bookings] == ["confirmed"] * 3 + ["waitlisted"] * 3
    assert api.post(f"/api/bookings/{bookings[5]['manage_token']}/cancel/").status_code == 200
    return bookings


def _roster(client, slot, **params):
    return client.get(f"/api/sessions/{slot.session_id}/bookings/", params)


def test_the_host_sees_who_is_coming_then_the_waitlist_in_order(host_api, slot, booked):
    response = _roster(host_api, slot)
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert [(r["volunteer"]["name"], r["status"]) for r in rows] == [
        ("Volunteer 0", "confirmed"), ("Volunteer 1", "confirmed"), ("Volunteer 2", "confirmed"),
        ("Volunteer 3", "waitlisted"), ("Volunteer 4", "waitlisted"), ("Volunteer 5", "cancelled"),
    ]
    assert rows[0]["volunteer"]["phone"] == "+447400100000"
    assert {(r["proven"], r["approval"]) for r in rows} == {(True, "not_required")}
    assert rows[0]["slot"] == {"id": slot.id, "starts_at": rows[0]["slot"]["starts_at"],
                               "ends_at": rows[0]["slot"]["ends_at"]}
    coming = _roster(host_api, slot, status="confirmed").json()["results"]
    assert [r["volunteer"]["name"] for r in coming] == ["Volunteer 0", "Volunteer 1", "Volunteer 2"]
    both = host_api.get(f"/api/sessions/{slot.session_id}/bookings/?status=confirmed&status=waitlisted").json()
    assert len(both["results"]) == 5


def test_only_the_host_and_coordinators_see_the_roster(api, other_host_api, coordinator_api, slot, booked):
    assert _roster(api, slot).status_code == 401
    assert _roster(other_host_api, slot).status_code == 404
    assert len(_roster(coordinator_api, slot).json()["results"]) == 6
    assert other_host_api.get("/api/sessions/99999999999999999999/bookings/").status_code == 404


def test_an_unknown_status_filter_is_a_400_naming_the_field(host_api, slot, booked):
    response = _roster(host_api, slot, status="maybe")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["status"]


def _started(slot: Slot) -> None:
    Slot.objects.filter(pk=slot.pk).update(starts_at=timezone.now() - timedelta(minutes=10))


def _attendance(client, slot, booking: dict, attended):
    return client.post(f"/api/sessions/{slot.session_id}/bookings/{booking['id']}/attendance/",
                       {"attended": attended}, format="json")


def test_the_host_records_who_came_once_the_slot_has_started(host_api, slot, booked):
    first = booked[0]
    early = _attendance(host_api, slot, first, True)
    assert early.status_code == 409 and early.json()["error"]["code"] == "slot_not_started"

    _started(slot)
    messages_before = SmsMessage.objects.exclude(status="skipped").count()
    response = _attendance(host_api, slot, first, True)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "attended"
    booking = Booking.objects.get(pk=first["id"])
    assert (booking.status, booking.version) == ("attended", 2)
    assert BookingEvent.objects.filter(booking=booking, kind="booking_attended", version=2).count() == 1

    assert _attendance(host_api, slot, first, True).status_code == 200  # the same answer again: nothing new
    assert BookingEvent.objects.filter(booking=booking).count() == 2
    corrected = _attendance(host_api, slot, first, False)
    assert corrected.json()["status"] == "no_show"
    assert Booking.objects.get(pk=first["id"]).version == 3

    assert _attendance(host_api, slot, booked[1], False).json()["status"] == "no_show"
    assert SmsMessage.objects.exclude(status="skipped").count() == messages_before  # nobody is texted about it
    # (without campaign consent the "come again" text is written skipped, for coordinators to see: notify.consent)
    slot.refresh_from_db()
    assert slot.confirmed_count == 3  # the places stay taken


def test_attendance_is_only_for_confirmed_bookings_of_the_hosts_own_session(host_api, other_host_api, slot, booked,
                                                                               meeting_point):
    _started(slot)
    waitlisted = _attendance(host_api, slot, booked[3], True)
    assert waitlisted.status_code == 409 and list(waitlisted.json()["error"]["fields"]) == ["attended"]
    assert _attendance(other_host_api, slot, booked[0], True).status_code == 404
    other_session_slot = SlotFactory(session__meeting_point=meeting_point)
    assert host_api.post(f"/api/sessions/{other_session_slot.session_id}/bookings/{booked[0]['id']}/attendance/",
                         {"attended": True}, format="json").status_code == 404
    missing = host_api.post(f"/api/sessions/{slot.session_id}/bookings/{booked[0]['id']}/attendance/", {},
                            format="json")
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["attended"]
    assert Booking.objects.get(pk=booked[0]["id"]).status == "confirmed"


def test_coordinators_record_attendance_from_the_admin_through_the_same_rules(client, slot, booked):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="coord-admin", is_staff=True, is_superuser=True))
    _started(slot)
    ids = [booked[0]["id"], booked[3]["id"]]  # a confirmed booking and a waitlisted one
    response = client.post("/admin/volunteers/booking/", {"action": "mark_attended", "_selected_action": ids},
                           follow=True)
    assert response.status_code == 200
    assert Booking.objects.get(pk=booked[0]["id"]).status == "attended"
    assert Booking.objects.get(pk=booked[3]["id"]).status == "waitlisted"
    shown = [str(m) for m in response.context["messages"]]
    assert any("Recorded attendance for 1 booking" in m for m in shown)
    assert any("has no attendance to record" in m for m in shown)
