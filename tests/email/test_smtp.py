"""Emails through a real Celery worker to a real SMTP server (aiosmtpd on a free loopback port): each arrives
once, a permanent refusal (5xx) is recorded and not retried, a temporary one (4xx) is retried."""

from datetime import timedelta

import pytest

from notify.email import services
from notify.email.models import EmailMessage
from tests.email.conftest import booking_make, emailable, slot_make
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _settled(timeout: float = 180.0) -> None:
    wait_until(lambda: not EmailMessage.objects.filter(status__in=["pending", "sending"]).exists(), timeout=timeout,
               interval=0.1, message="emails settled",
               detail=lambda: list(EmailMessage.objects.values_list("status", "error_message")))


def test_every_email_reaches_the_server_exactly_once(smtp_server, celery_worker):
    slot = slot_make(capacity=30)
    volunteers = [emailable() for _ in range(20)]
    for volunteer in volunteers:
        booking_make(slot=slot, volunteer=volunteer)
    _settled()
    rows = list(EmailMessage.objects.values_list("message_id", "status", "to"))
    assert len(rows) == 20 and {status for _, status, _ in rows} == {"sent"}
    received = smtp_server.handler.per_message_id()
    assert received == {message_id: 1 for message_id, _, _ in rows}
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(v.email for v in volunteers)
    message = smtp_server.messages[0]["message"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"]).strip()  # folded after the colon: the space is not part of it
    assert unsubscribe.startswith("<http") and "/email/unsubscribe/" in unsubscribe
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "/b/" in text and "27 Psalter Lane" in text


def test_a_permanent_refusal_is_recorded_and_not_retried(smtp_server, celery_worker):
    refused, accepted = emailable(), emailable()
    smtp_server.handler.rcpt_replies[refused.email] = ["550 5.1.1 No such mailbox"] * 5
    slot = slot_make()
    booking_make(slot=slot, volunteer=refused)
    booking_make(slot=slot, volunteer=accepted)
    _settled()
    failed = EmailMessage.objects.get(volunteer=refused)
    assert failed.status == "failed" and failed.error_code == 550 and "No such mailbox" in failed.error_message
    assert failed.attempts == 1 and smtp_server.handler.rcpt_seen[refused.email] == 1
    # Failed for good: no retry is due, a task run again claims nothing and the sweep hands nothing on.
    assert failed.next_attempt_at is None
    assert services.message_send(message_id=failed.pk) == "not_due"
    assert services.messages_requeue_stuck(grace=timedelta(0)) == 0
    assert smtp_server.handler.rcpt_seen[refused.email] == 1
    assert EmailMessage.objects.get(volunteer=accepted).status == "sent"
    assert [m["to"] for m in smtp_server.messages] == [[accepted.email]]


def test_a_temporary_refusal_is_retried_until_it_is_accepted(smtp_server, celery_worker):
    volunteer = emailable()
    smtp_server.handler.rcpt_replies[volunteer.email] = ["451 4.7.1 Greylisted, try again", "421 4.3.0 Busy"]
    booking_make(slot=slot_make(), volunteer=volunteer)
    _settled()
    message = EmailMessage.objects.get(volunteer=volunteer)
    assert message.status == "sent" and message.attempts == 3
    assert smtp_server.handler.rcpt_seen[volunteer.email] == 3
    assert smtp_server.handler.per_message_id() == {message.message_id: 1}


def test_temporary_refusals_stop_at_the_attempt_cap(smtp_server, celery_worker, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    volunteer = emailable()
    smtp_server.handler.rcpt_replies[volunteer.email] = ["452 4.2.2 Mailbox full"] * 10
    booking_make(slot=slot_make(), volunteer=volunteer)
    _settled()
    message = EmailMessage.objects.get(volunteer=volunteer)
    assert message.status == "failed" and message.attempts == 3 and message.error_code == 452
    assert message.error_message.startswith("Gave up after 3 attempts")
    assert not smtp_server.messages
