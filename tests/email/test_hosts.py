"""Hosts hear of bookings and cancellations on their sessions: an email each, a daily digest, or nothing."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from notify.email import services
from notify.email.models import EmailMessage, HostEmailPreference
from notify.email.services.unsubscribe import host_token
from tests.email.conftest import booking_make, slot_make, volunteer_make
from tests.factories import HostEmailPreferenceFactory, HostStandingFactory, PostcodeFactory, booking_ask, next_mobile
from volunteers.identity import booking_prove_by_link
from volunteers.models import Booking
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db(transaction=True)


def _hosted_slot(*, notify: str | None = None, email: str = "aisha@example.org", verified: bool = True, **kwargs):
    slot = slot_make(**kwargs)
    host = slot.session.meeting_point.host
    host.email = email
    host.save(update_fields=["email"])
    if verified:  # the host followed the link emailed at sign-up (sessions.hosts)
        HostStandingFactory(host=host, email_verified=email)
    if notify:
        HostEmailPreferenceFactory(host=host, notify=notify)
    return slot, host


def test_a_host_is_emailed_when_someone_books_and_when_they_cancel(mail_outbox):
    slot, host = _hosted_slot()
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    booking_cancel(manage_token=booking.manage_token)
    kinds = list(EmailMessage.objects.filter(host=host).order_by("id").values_list("kind", "status"))
    assert kinds == [("host_booked", "sent"), ("host_cancelled", "sent")]
    booked, cancelled = mail_outbox
    assert booked.to == cancelled.to == ["aisha@example.org"]
    assert "Jo B." in booked.subject and "booked" in booked.subject and "Bloggs" not in booked.body
    assert "Jo B." in cancelled.body and "no longer coming" in cancelled.body
    assert f"/host/sessions/{slot.session_id}/" in booked.body
    assert booked.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_booking_request_is_told_to_the_host_only_once_the_phone_is_proven(mail_outbox):
    slot, host = _hosted_slot()
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    challenge = booking_ask(slot_id=slot.pk, name="Sam Smith", phone=next_mobile(), postcode=postcode)
    assert not EmailMessage.objects.filter(host=host).exists()  # it may be somebody else's number
    booking = Booking.objects.get(pk=challenge.booking_id)
    booking_prove_by_link(manage_token=booking.manage_token)
    assert list(EmailMessage.objects.filter(host=host).values_list("kind", flat=True)) == ["host_booked"]
    assert len(mail_outbox) == 1


def test_a_host_who_chose_nothing_or_the_digest_gets_no_email_per_booking(mail_outbox):
    for notify in ("off", "daily"):
        slot, host = _hosted_slot(notify=notify)
        booking_make(slot=slot, volunteer=volunteer_make())
        assert not EmailMessage.objects.filter(host=host).exists()
    slot, host = _hosted_slot(email="")  # no address: nothing written
    booking_make(slot=slot, volunteer=volunteer_make())
    assert not EmailMessage.objects.filter(host=host).exists() and not mail_outbox


def test_a_host_whose_address_is_unproven_gets_no_booking_email_nor_digest(mail_outbox):
    slot, host = _hosted_slot(verified=False)
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    booking_cancel(manage_token=booking.manage_token)
    daily_slot, daily_host = _hosted_slot(notify="daily", verified=False)
    booking_make(slot=daily_slot, volunteer=volunteer_make())
    morning = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(8, 0)))
    assert services.host_digests_enqueue(now=morning) == 0
    assert not EmailMessage.objects.filter(host__in=[host, daily_host]).exists() and not mail_outbox


def test_a_notice_queued_before_the_host_changed_to_an_unproven_address_is_skipped(mail_outbox):
    from tests.email.conftest import held

    slot, host = _hosted_slot()
    with held():
        booking_make(slot=slot, volunteer=volunteer_make())
    message = EmailMessage.objects.get(host=host)
    host.email = "someone-else@example.org"
    host.save(update_fields=["email"])
    assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert message.skip_reason == "host_unverified" and not mail_outbox


def test_a_notice_already_queued_is_skipped_once_the_host_turns_them_off(mail_outbox):
    from tests.email.conftest import held

    slot, host = _hosted_slot()
    with held():
        booking_make(slot=slot, volunteer=volunteer_make())
    message = EmailMessage.objects.get(host=host)
    assert Client().post(f"/email/unsubscribe/{host_token(host.pk)}/").status_code == 200
    assert HostEmailPreference.objects.get(host=host).notify == "off"
    assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert message.skip_reason == "host_preference" and not mail_outbox


def test_the_daily_digest_is_written_once_per_host_and_day_and_lists_the_day(mail_outbox):
    slot, host = _hosted_slot(notify="daily")
    quiet_slot, quiet_host = _hosted_slot(notify="daily")  # nothing happened on their sessions: no digest
    first = booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    booking_make(slot=slot, volunteer=volunteer_make(name="Sam Smith"))
    booking_cancel(manage_token=first.manage_token)
    today = timezone.localdate()
    before = timezone.make_aware(datetime.combine(today + timedelta(days=1), time(6, 30)))
    morning = timezone.make_aware(datetime.combine(today + timedelta(days=1), time(8, 0)))
    assert services.host_digests_enqueue(now=before) == 0  # before EMAIL_HOST_DIGEST_AT (07:00)
    assert services.host_digests_enqueue(now=morning) == 1
    assert services.host_digests_enqueue(now=morning) == 0  # run it twice: one digest
    assert services.host_digests_enqueue(now=morning + timedelta(hours=3)) == 0
    [digest] = EmailMessage.objects.filter(kind="host_digest")
    assert digest.host == host and digest.digest_date == today and digest.status == "sent"
    [email] = mail_outbox
    assert "2 booked, 1 cancelled" in email.subject
    assert email.body.count("Jo B.") == 2 and "Sam S." in email.body
    assert not EmailMessage.objects.filter(host=quiet_host).exists()
    assert services.message_send(message_id=digest.pk) == "not_due"
    assert len(mail_outbox) == 1


def test_the_digest_task_run_twice_writes_one_digest(mail_outbox, monkeypatch):
    from notify.email.tasks import host_digests_enqueue

    slot, host = _hosted_slot(notify="daily")
    booking_make(slot=slot, volunteer=volunteer_make())
    tomorrow = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(9, 0)))
    monkeypatch.setattr("notify.email.services.hosts.timezone.now", lambda: tomorrow)
    assert host_digests_enqueue.apply().get() == 1
    assert host_digests_enqueue.apply().get() == 0
    assert EmailMessage.objects.filter(kind="host_digest").count() == 1 and len(mail_outbox) == 1


def test_the_settings_page_saves_the_choice_and_names_the_field_that_is_wrong(client):
    slot, host = _hosted_slot(email="")
    assert client.get("/host/notifications/").status_code == 302  # signed in only
    client.force_login(host)
    page = client.get("/host/notifications/")
    assert page.status_code == 200 and b"By email and by text" in page.content and b"<legend>" in page.content
    response = client.post("/host/notifications/", {"each": "none", "digest": "on", "email": ""})
    assert response.status_code == 200 and b"Give the address to email." in response.content
    assert not HostEmailPreference.objects.filter(host=host).exists()  # nothing written
    response = client.post("/host/notifications/", {"each": "nonsense", "email": "a@example.org"})
    assert response.status_code == 200 and not HostEmailPreference.objects.filter(host=host).exists()
    response = client.post("/host/notifications/", {"each": "none", "digest": "on", "email": "aisha@example.org"})
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.email == "aisha@example.org" and HostEmailPreference.objects.get(host=host).notify == "daily"
