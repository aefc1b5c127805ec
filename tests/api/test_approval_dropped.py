"""A host who turns a session's approval requirement off approves, in the same transaction, every booking still
waiting for it: each volunteer is texted as an approval texts them, and the address is released."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notify.sms.models import SmsMessage
from sessions import services as session_services
from tests.factories import SlotFactory, book_via_api
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db


def _patch(host_api, session_id, **body):
    return host_api.patch(f"/api/sessions/{session_id}/", body, format="json")


def test_turning_approval_off_approves_and_texts_the_waiting_bookings(api, host_api, approval_slot):
    placed = book_via_api(api, approval_slot, phone="07400 000001")
    waitlisted = book_via_api(api, approval_slot, phone="07400 000002")
    assert (placed["approval"], waitlisted["status"], waitlisted["approval"]) == ("pending", "waitlisted", "pending")
    response = _patch(host_api, approval_slot.session_id, requires_approval=False)
    assert response.status_code == 200 and response.json()["requires_approval"] is False
    for booking in (placed, waitlisted):
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.approval == "approved" and stored.version == 2
        [event] = BookingEvent.objects.filter(booking=stored, kind="booking_approved")
        assert event.payload["approval_dropped"] is True
    # Texted as an approval is: the address to the one with a place, the waitlist to the other.
    placed_text = SmsMessage.objects.get(kind="booking_approved", booking_id=placed["id"]).body
    waitlisted_text = SmsMessage.objects.get(kind="booking_approved", booking_id=waitlisted["id"]).body
    assert "1 Test Street" in placed_text and "1 Test Street" not in waitlisted_text
    assert "waitlist" in waitlisted_text
    assert api.get(f"/api/bookings/{placed['manage_token']}/").json()["address"] == "1 Test Street\nSheffield"
    # Again, or any other edit: nothing more to approve, nothing texted twice.
    assert _patch(host_api, approval_slot.session_id, requires_approval=False).status_code == 200
    assert _patch(host_api, approval_slot.session_id, title="Renamed").status_code == 200
    assert SmsMessage.objects.filter(kind="booking_approved").count() == 2


def test_only_waiting_bookings_of_slots_still_to_come_are_approved(api, host_api, approval_slot):
    refused = book_via_api(api, approval_slot, phone="07400 000001")
    assert host_api.post(f"/api/sessions/{approval_slot.session_id}/bookings/{refused['id']}/refuse/").status_code == 200
    cancelled = book_via_api(api, approval_slot, phone="07400 000003")
    assert api.post(f"/api/bookings/{cancelled['manage_token']}/cancel/").status_code == 200
    past = SlotFactory(session=approval_slot.session, starts_at=timezone.now() - timedelta(hours=3),
                       ends_at=timezone.now() - timedelta(hours=1))
    ended = book_via_api(api, approval_slot, phone="07400 000004")
    Booking.objects.filter(pk=ended["id"]).update(slot=past)
    other_session = SlotFactory(session__meeting_point=approval_slot.session.meeting_point,
                                session__requires_approval=True)
    elsewhere = book_via_api(api, other_session, phone="07400 000005")
    assert _patch(host_api, approval_slot.session_id, requires_approval=False).status_code == 200
    approvals = dict(Booking.objects.values_list("id", "approval"))
    assert approvals[refused["id"]] == "refused" and approvals[cancelled["id"]] == "pending"
    assert approvals[ended["id"]] == "pending" and approvals[elsewhere["id"]] == "pending"
    assert not SmsMessage.objects.filter(kind="booking_approved").exists()


def test_the_approvals_roll_back_with_the_session_edit(api, host, approval_slot):
    waiting = book_via_api(api, approval_slot, phone="07400 000001")
    with pytest.raises(RuntimeError), transaction.atomic():
        session_services.session_update(user=host, session_id=approval_slot.session_id, requires_approval=False)
        assert Booking.objects.get(pk=waiting["id"]).approval == "approved"
        raise RuntimeError("the edit fails after the approvals")
    assert Booking.objects.get(pk=waiting["id"]).approval == "pending"
    assert not SmsMessage.objects.filter(kind="booking_approved").exists()


def test_turning_approval_on_changes_no_booking(api, host_api, slot):
    booking = book_via_api(api, slot)
    assert _patch(host_api, slot.session_id, requires_approval=True).status_code == 200
    assert Booking.objects.get(pk=booking["id"]).approval == "not_required"
    assert not SmsMessage.objects.filter(kind="booking_approved").exists()
