"""Booking events survive a broker that is down at commit time: the sweep delivers them later."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, booking_ask
from volunteers import tasks
from volunteers.models import BookingEvent
from volunteers.services import booking_events_requeue_stale


@pytest.fixture
def slot(db):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    return SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat), capacity=1)


def test_booking_succeeds_when_the_broker_is_down_and_the_sweep_delivers_the_event_later(
    slot, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=True)
    monkeypatch.setattr(tasks.booking_event_process, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        result = booking_ask(slot_id=slot.id, name="B", phone="+447400000002", postcode="S10 1AA", consent_sms=True)
    assert result.booking.status == "waitlisted"
    event = BookingEvent.objects.get(kind="booking_waitlisted")  # wanted by overflow, so it needs a worker
    assert event.processed_at is None

    monkeypatch.undo()
    assert booking_events_requeue_stale() == 0  # too fresh: its own task may still be on its way
    BookingEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert booking_events_requeue_stale() == 1  # eager in tests: processed right away
    event.refresh_from_db()
    assert event.processed_at is not None
    assert booking_events_requeue_stale() == 0
