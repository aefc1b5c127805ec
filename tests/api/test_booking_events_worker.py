"""Booking events reach a real Celery worker over the Redis broker after commit."""


import pytest

from tests.conftest import without_metrics
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, booking_ask
from tests.waiting import wait_until
from volunteers.events import off_booking_event, on_booking_event
from volunteers.models import BookingEvent
from volunteers.services import booking_cancel, booking_event_dispatch


@pytest.fixture
def recorded_events():
    seen: list[tuple[str, int]] = []

    def handler(event):
        seen.append((event.kind, event.booking_id))

    on_booking_event(handler)
    yield seen
    off_booking_event(handler)


@pytest.mark.worker
def test_booking_events_are_processed_by_a_real_worker_after_commit(celery_worker, recorded_events):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat), capacity=1)
    first = booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=True)
    second = booking_ask(slot_id=slot.id, name="B", phone="+447400000002", postcode="S10 1AA", consent_sms=True)
    booking_cancel(manage_token=first.booking.manage_token)

    # An event is claimed (processed_at set) before its handlers run, so wait for the handlers themselves.
    wait_until(lambda: len(recorded_events) >= 4, interval=0.05, message="the four events handled")
    assert not BookingEvent.objects.filter(processed_at__isnull=True, kind__in=[
        "booking_confirmed", "booking_waitlisted", "booking_cancelled"]).exists()
    kinds = [kind for kind, _ in recorded_events]
    assert kinds.count("booking_confirmed") == 1
    assert kinds.count("booking_waitlisted") == 1
    assert kinds.count("booking_cancelled") == 1
    # The cancellation freed the place; the worker's promotion handler gave it to the waitlisted volunteer.
    wait_until(lambda: BookingEvent.objects.filter(kind="booking_promoted", booking=second.booking).exists(),
               interval=0.05, message="the promotion")
    second.booking.refresh_from_db()
    assert second.booking.status == "confirmed"


@pytest.mark.django_db
def test_processing_an_event_twice_runs_its_handlers_once(recorded_events):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat))
    booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=True)
    event = BookingEvent.objects.get()
    assert booking_event_dispatch(event_id=event.id) is True
    assert booking_event_dispatch(event_id=event.id) is False
    assert recorded_events == [("booking_confirmed", event.booking_id)]


@pytest.mark.django_db
def test_an_event_whose_handler_died_is_handed_out_again(recorded_events):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat))
    booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=True)
    event = BookingEvent.objects.get()

    def dies(event):
        raise SystemExit("worker killed mid-handler")

    on_booking_event(dies)
    try:
        with pytest.raises(SystemExit):
            booking_event_dispatch(event_id=event.id)
    finally:
        off_booking_event(dies)
    event.refresh_from_db()
    assert event.processed_at is None  # the sweep will hand it out again
    assert booking_event_dispatch(event_id=event.id) is True
    assert recorded_events == [("booking_confirmed", event.booking_id)] * 2  # at least once


@pytest.mark.django_db
def test_an_event_no_handler_wants_is_recorded_processed_without_a_celery_message(django_capture_on_commit_callbacks):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat), capacity=1)
    with django_capture_on_commit_callbacks() as callbacks:
        booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=False)
    confirmed = BookingEvent.objects.get(kind="booking_confirmed")
    assert confirmed.processed_at is not None  # promotion and overflow handle other kinds only
    assert len(without_metrics(callbacks)) == 1  # only the code text's send (asked for, so sent without consent)

    with django_capture_on_commit_callbacks() as callbacks:
        booking_ask(slot_id=slot.id, name="B", phone="+447400000002", postcode="S10 1AA", consent_sms=False)
    waitlisted = BookingEvent.objects.get(kind="booking_waitlisted")
    assert waitlisted.processed_at is None  # overflow wants it
    assert len(without_metrics(callbacks)) == 2  # the code text's send and the event's handlers


@pytest.mark.django_db
def test_a_handler_for_every_kind_gets_confirmed_events_too(recorded_events, django_capture_on_commit_callbacks):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat))
    with django_capture_on_commit_callbacks(execute=True):
        booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA", consent_sms=False)
    assert recorded_events == [("booking_confirmed", BookingEvent.objects.get().booking_id)]


@pytest.mark.django_db
def test_bulk_events_no_handler_wants_are_recorded_processed_and_enqueue_nothing(django_capture_on_commit_callbacks):
    from volunteers.events import booking_events_record_bulk

    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat))
    booking = booking_ask(slot_id=slot.id, name="A", phone="+447400000001", postcode="S10 1AA",
                          consent_sms=False).booking
    with django_capture_on_commit_callbacks() as callbacks:
        booking_events_record_bulk(booking_versions=[(booking.id, 7)], kind="booking_confirmed")
    assert BookingEvent.objects.get(version=7).processed_at is not None
    assert callbacks == []  # no SMS either: no consent
    with django_capture_on_commit_callbacks() as callbacks:
        booking_events_record_bulk(booking_versions=[(booking.id, 8)], kind="booking_waitlisted")
    assert BookingEvent.objects.get(version=8).processed_at is None
    assert len(callbacks) == 1
