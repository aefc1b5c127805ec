"""Reminder emails: the bookings the reminder texts are due for, to volunteers who may be emailed, each once."""

from datetime import timedelta

import pytest

from notify.email.models import EmailMessage
from notify.email.services import reminders_enqueue_due
from tests.email.conftest import booking_make, emailable, held, slot_make, volunteer_make

pytestmark = pytest.mark.django_db(transaction=True)


def test_reminders_are_emailed_once_in_chunks_to_those_who_may_be_emailed(monkeypatch):
    from notify import reminders as sms_reminders

    monkeypatch.setattr(sms_reminders, "REMINDER_CHUNK", 2)  # several chunks, each its own transaction
    slot = slot_make(starts_in=timedelta(hours=3), capacity=10)
    with held():  # the rows stay pending, so what was written can be counted
        emailed = [booking_make(slot=slot, volunteer=emailable()) for _ in range(5)]
        booking_make(slot=slot, volunteer=volunteer_make())  # gave no address
    soon = slot.starts_at - timedelta(minutes=20)

    with held():
        assert reminders_enqueue_due(now=soon) == 5
        assert reminders_enqueue_due(now=soon + timedelta(minutes=5)) == 0

    reminders = EmailMessage.objects.filter(kind="reminder_soon")
    assert sorted(reminders.values_list("booking_id", flat=True)) == sorted(b.pk for b in emailed)
    assert {(m.booking_id, m.version) for m in reminders} == {(b.pk, b.version) for b in emailed}
