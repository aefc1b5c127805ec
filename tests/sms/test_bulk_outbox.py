"""Many booking events recorded at once (an assignment commit) get their messages in bulk, each exactly once."""

import pytest
from django.db import transaction

from dispatch.sms.models import SmsMessage
from tests.sms.factories import slot_make, volunteer_make
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _bulk_confirm(slot, volunteers, payload=None):
    with transaction.atomic():
        bookings = Booking.objects.bulk_create(
            [Booking(volunteer=v, slot=slot, status=Booking.Status.CONFIRMED, source=Booking.Source.ASSIGNED)
             for v in volunteers])
        booking_events_record_bulk(bookings=bookings, kind=BookingEvent.Kind.CONFIRMED, payload=payload or {})
    return bookings


def test_bulk_events_write_one_message_each_and_send_them_in_batches(locmem_sms, django_capture_on_commit_callbacks):
    slot = slot_make(capacity=20)
    volunteers = [volunteer_make(name=f"Volunteer {i}") for i in range(12)] + [volunteer_make(consent_sms=False)]
    with django_capture_on_commit_callbacks(execute=True):
        bookings = _bulk_confirm(slot, volunteers, {"source": "assigned", "run": 1})
    messages = SmsMessage.objects.filter(booking__in=bookings)
    assert messages.count() == 13
    assert messages.filter(status="skipped", skip_reason="no_consent").count() == 1
    assert messages.filter(status="queued").exclude(twilio_sid=None).count() == 12
    assert sorted(m["to"] for m in locmem_sms) == sorted(v.phone for v in volunteers[:12])
    assert all("27 Psalter Lane" in m["body"] for m in locmem_sms)
    # The batch task processed every event too.
    assert not BookingEvent.objects.filter(processed_at__isnull=True).exists()


def test_bulk_rows_roll_back_with_the_change(locmem_sms):
    slot = slot_make()
    with pytest.raises(RuntimeError), transaction.atomic():
        _bulk_confirm(slot, [volunteer_make(), volunteer_make()])
        raise RuntimeError("the commit failed")
    assert not SmsMessage.objects.exists() and not BookingEvent.objects.exists()


def test_a_redirects_new_booking_gets_no_confirmation_of_its_own(locmem_sms, django_capture_on_commit_callbacks):
    slot = slot_make()
    with django_capture_on_commit_callbacks(execute=True):
        _bulk_confirm(slot, [volunteer_make()], {"source": "redirect", "redirected_from": 1})
    assert not SmsMessage.objects.exists() and locmem_sms == []
