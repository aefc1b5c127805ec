"""A host's daily digest by text: one short text the morning after, counting the places taken and given back on
their sessions the day before, through the outbox: once per host and day, only to a proven mobile, never in quiet
hours, never naming anyone."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidInput
from notify.host_notifications import host_notifications_get, host_notifications_set
from notify.sms import services
from notify.sms.models import SmsMessage
from notify.sms.services import host_text_digests_enqueue
from tests.factories import next_mobile
from tests.sms.factories import booking_make, host_mobile_prove, slot_make, volunteer_make
from volunteers.models import BookingEvent
from volunteers.services import booking_cancel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("daytime")]


@pytest.fixture(autouse=True)
def digests_at_nine(settings):
    settings.SMS_HOST_DIGEST_AT = time(9, 0)


def _morning(hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour, 0)))


def _digest_host(*, proven: bool = True):
    slot = slot_make(capacity=5)
    host = slot.session.meeting_point.host
    host_notifications_set(host=host, each="none", digest=False, digest_text=True, mobile=next_mobile())
    if proven:
        host_mobile_prove(host)
    return slot, host


def _yesterday_happened(slot, *, booked: int, cancelled: int) -> None:
    bookings = [booking_make(slot=slot, volunteer=volunteer_make(name=f"Jo Bloggs{n}")) for n in range(booked)]
    for booking in bookings[:cancelled]:
        booking_cancel(manage_token=booking.manage_token)
    BookingEvent.objects.filter(booking__slot=slot).update(created_at=_morning() - timedelta(days=1))


def _digests(host):
    return list(SmsMessage.objects.filter(host=host, kind="host_digest").order_by("id"))


def test_one_digest_text_a_day_counts_yesterdays_places_and_names_nobody(daytime):
    slot, host = _digest_host()
    _yesterday_happened(slot, booked=3, cancelled=1)
    assert SmsMessage.objects.filter(host=host, kind__in=["host_booked", "host_cancelled"]).count() == 0
    assert host_text_digests_enqueue(now=_morning()) == 1
    assert host_text_digests_enqueue(now=_morning(11)) == 0  # the beat again: once per host and day
    [digest] = _digests(host)
    assert digest.digest_date == timezone.localdate() - timedelta(days=1)
    assert "3 places taken and 1 given back" in digest.body and "Jo" not in digest.body
    assert "/host/" in digest.body and "Reply STOP" in digest.body and digest.segments <= 2
    assert digest.status == "queued"
    assert [sent["body"] for sent in daytime if sent["to"] == digest.to][-1] == digest.body
    assert services.message_send(message_id=digest.pk) == "not_due"  # sent once


def test_no_digest_before_its_hour_nor_for_a_quiet_day_nor_for_hosts_who_did_not_choose_it():
    slot, host = _digest_host()
    _yesterday_happened(slot, booked=1, cancelled=0)
    assert host_text_digests_enqueue(now=_morning(8)) == 0
    quiet_slot, quiet_host = _digest_host()
    other = slot_make()
    host_notifications_set(host=other.session.meeting_point.host, each="text", digest=False, mobile=next_mobile())
    host_mobile_prove(other.session.meeting_point.host)
    _yesterday_happened(other, booked=1, cancelled=0)
    assert host_text_digests_enqueue(now=_morning()) == 1
    assert _digests(quiet_host) == [] and _digests(other.session.meeting_point.host) == []


def test_an_unproven_mobile_gets_no_digest(daytime):
    slot, host = _digest_host(proven=False)
    _yesterday_happened(slot, booked=2, cancelled=0)
    host_text_digests_enqueue(now=_morning())
    [digest] = _digests(host)
    assert (digest.status, digest.skip_reason) == ("skipped", "mobile_unproven")
    assert not [sent for sent in daytime if sent["body"] == digest.body]


def test_a_digest_waits_out_quiet_hours_and_is_skipped_if_turned_off_meanwhile(settings, monkeypatch):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    slot, host = _digest_host()
    _yesterday_happened(slot, booked=1, cancelled=0)
    host_text_digests_enqueue(now=_morning())
    [digest] = _digests(host)
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59)
    assert services.message_send(message_id=digest.pk) == "deferred"
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)
    SmsMessage.objects.filter(pk=digest.pk).update(next_attempt_at=None)
    mobile = host_notifications_get(host=host).mobile
    host_notifications_set(host=host, each="none", digest=False, digest_text=False, mobile=mobile)
    assert services.message_send(message_id=digest.pk) == "skipped"
    digest.refresh_from_db()
    assert digest.skip_reason == "host_preference"


def test_the_digest_task_run_twice_writes_one_text(settings):
    from notify.sms.tasks import host_digests_enqueue

    settings.SMS_HOST_DIGEST_AT = time(0, 0)  # whatever the time the suite runs at
    slot, host = _digest_host()
    _yesterday_happened(slot, booked=1, cancelled=0)
    assert host_digests_enqueue.delay().get() == 1
    assert host_digests_enqueue.delay().get() == 0
    assert len(_digests(host)) == 1


def test_the_digest_text_is_not_with_texts_each_time_and_needs_a_mobile():
    slot = slot_make()
    host = slot.session.meeting_point.host
    with pytest.raises(InvalidInput) as raised:
        host_notifications_set(host=host, each="text", digest=False, digest_text=True, mobile=next_mobile())
    assert list(raised.value.fields) == ["digest_text"]
    with pytest.raises(InvalidInput) as raised:
        host_notifications_set(host=host, each="none", digest=False, digest_text=True, mobile="")
    assert list(raised.value.fields) == ["mobile"]
    host_notifications_set(host=host, each="email", digest=False, digest_text=True, email="a@example.org",
                           mobile=next_mobile())
    current = host_notifications_get(host=host)
    assert (current.each, current.digest_text, current.code_sent) == ("email", True, True)  # its mobile: a code


def test_a_run_racing_another_keeps_the_one_digest_the_other_wrote(monkeypatch):
    from notify.sms.services import host_digests

    slot, host = _digest_host()
    _yesterday_happened(slot, booked=2, cancelled=0)
    counted = host_digests.host_digest_counts

    def the_other_run_first(**kwargs):  # between this run's look for done hosts and its insert
        monkeypatch.setattr(host_digests, "host_digest_counts", counted)
        assert host_text_digests_enqueue(now=_morning()) == 1
        return counted(**kwargs)

    monkeypatch.setattr(host_digests, "host_digest_counts", the_other_run_first)
    host_text_digests_enqueue(now=_morning())  # no IntegrityError
    [digest] = _digests(host)
    assert "2 places taken" in digest.body and digest.status == "queued"
