"""The outbox's contract (notify.outbox), one test per guarantee, run for every channel: a rolled-back change leaves no
row, the same event told twice is one row and one message, a row sent twice goes once, a row a dead broker never
received is swept out, a row a killed worker left in flight is taken over without a second send (webhooks: at least
once, under the same id) and sent once if it never reached the other side, a transient failure is retried up to the
cap and then given up, and erasing a volunteer blanks what the rows hold of them.

The faults with real workers killed mid-batch are in tests/sms/test_faults.py, tests/email/test_faults.py and
tests/webhooks/test_worker.py.

What only one channel does (Twilio's lookup, quiet hours, the hand-over mark, signing, an endpoint's fan-out) is
tested beside it, in tests/sms, tests/email and tests/webhooks."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notify.outbox import rows_requeue_stuck
from notify.registry import channel_get
from tests.notify.conftest import Channel
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make
from volunteers.events import booking_event_announce
from volunteers.models import Booking, BookingEvent
from volunteers.privacy import volunteer_personal_data_erase

pytestmark = pytest.mark.django_db(transaction=True)


def _booked(channel: Channel) -> Booking:
    return booking_make(slot=slot_make(), volunteer=channel.volunteer())


def test_a_rolled_back_change_leaves_no_row(channel):
    model = channel_get(channel.name).model
    with pytest.raises(RuntimeError), transaction.atomic():
        _booked(channel)
        raise RuntimeError("the request failed after booking")
    assert not model.objects.exists() and not Booking.objects.exists()
    assert channel.delivered() == []


def test_the_same_event_told_twice_is_one_row_and_one_message(channel):
    booking = _booked(channel)
    model = channel_get(channel.name).model
    rows = model.objects.count()
    with transaction.atomic():  # a receiver run again for the same event (a retried signal, a replayed handler)
        booking_event_announce(BookingEvent.objects.get(booking=booking))
    assert model.objects.count() == rows == 1 and len(channel.delivered()) == 1


def test_a_row_sent_twice_goes_once(channel):
    booking = _booked(channel)  # sent on commit (Celery is eager in the tests)
    outbox, row = channel_get(channel.name), channel.row(booking)
    assert outbox.send(row.pk) == "not_due" and outbox.send(row.pk) == "not_due"
    row.refresh_from_db()
    assert row.status == channel.done and len(channel.delivered()) == 1


def test_a_row_a_dead_broker_never_received_is_swept_out_once(channel):
    outbox = channel_get(channel.name)
    with broker("redis://127.0.0.1:1/0"):  # nothing listens: every on-commit enqueue fails
        booking = _booked(channel)
    row = channel.row(booking)
    assert row.status == "pending" and channel.delivered() == []
    assert rows_requeue_stuck(outbox, grace=timedelta(0)) >= 1
    assert rows_requeue_stuck(outbox, grace=timedelta(0)) == 0
    row.refresh_from_db()
    assert row.status == channel.done and len(channel.delivered()) == 1


def test_a_row_a_killed_worker_left_in_flight_is_taken_over_without_a_second_send(channel):
    outbox = channel_get(channel.name)
    booking = _booked(channel)
    row = channel.row(booking)
    sent = channel.delivered()
    outbox.model.objects.filter(pk=row.pk).update(
        status=outbox.in_flight, **{outbox.started_field: timezone.now() - timedelta(hours=1)}, **channel.in_flight)
    assert rows_requeue_stuck(outbox, grace=timedelta(0)) == 1
    row.refresh_from_db()
    status, messages = channel.after_takeover
    assert (row.status, row.attempts, len(channel.delivered())) == (status, 2, messages)
    assert set(channel.delivered()) == set(sent)  # webhooks: the same webhook-id again
    assert outbox.send(row.pk) == "not_due" and len(channel.delivered()) == messages


def test_a_row_a_killed_worker_left_before_it_reached_the_other_side_is_sent_once(channel):
    outbox = channel_get(channel.name)
    with broker("redis://127.0.0.1:1/0"):  # written, never handed to a worker that lived
        booking = _booked(channel)
    row = channel.row(booking)
    outbox.model.objects.filter(pk=row.pk).update(
        status=outbox.in_flight, attempts=1, **{outbox.started_field: timezone.now() - timedelta(hours=1)},
        **channel.in_flight_unreached)
    assert rows_requeue_stuck(outbox, grace=timedelta(0)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, len(channel.delivered())) == (channel.done, 2, 1)
    assert outbox.send(row.pk) == "not_due" and len(channel.delivered()) == 1


def test_a_transient_failure_is_retried_then_given_up_at_the_cap(channel, settings):
    outbox = channel_get(channel.name)
    setattr(settings, f"{outbox.prefix}_MAX_ATTEMPTS", 2)
    setattr(settings, f"{outbox.prefix}_RETRY_BASE_SECONDS", 60)
    setattr(settings, f"{outbox.prefix}_RETRY_MAX_SECONDS", 600)
    with channel.fail():
        booking = _booked(channel)
        row = channel.row(booking)
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", 1) and row.next_attempt_at > timezone.now()
        assert outbox.send(row.pk) == "not_due"  # the back-off is kept
        outbox.model.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert outbox.send(row.pk) == "failed"
    row.refresh_from_db()
    error = row.error if channel.name == "webhooks" else row.error_message
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
    assert error.startswith("Gave up after 2 attempts")
    assert outbox.send(row.pk) == "not_due"


def test_erasing_the_volunteer_blanks_what_the_rows_hold_of_them(channel):
    booking = _booked(channel)
    row = channel.row(booking)
    assert all(getattr(row, field) for field in channel.personal)
    volunteer_personal_data_erase(volunteer_id=booking.volunteer_id)
    row.refresh_from_db()
    assert [getattr(row, field) for field in channel.personal] == [""] * len(channel.personal)
