"""Fault tests with real Celery worker processes on Redis and a real SMTP server: a worker killed with SIGKILL in
the middle of a batch loses no email and sends none twice, counted by the Message-IDs the server received."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from notify.email.models import EmailMessage
from notify.email.services import messages_requeue_stuck
from notify.email.services.outbox import messages_enqueue_batches
from tests.email.conftest import booking_make, emailable, held, slot_make
from tests.sms.conftest import broker
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _smtp_env(server) -> dict:
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(server.port), "EMAIL_TIMEOUT": "5", "EMAIL_SENDING_STALE_SECONDS": "3",
            "EMAIL_RETRY_BASE_SECONDS": "0.2", "EMAIL_RETRY_MAX_SECONDS": "0.5"}


def _sweep_until_settled(timeout: float = 180.0) -> None:
    wait_until(lambda: not EmailMessage.objects.filter(status__in=["pending", "sending"]).exists(), timeout=timeout,
               interval=1.0, message="emails settled",
               between=lambda: messages_requeue_stuck(grace=timedelta(0), stale_after=timedelta(seconds=3)),
               detail=lambda: list(EmailMessage.objects.values_list("status", "error_message")))


def test_killing_a_worker_mid_batch_loses_nothing_and_doubles_nothing(smtp_server, worker_factory):
    smtp_server.handler.data_delay = 0.3  # each kept message's "250" comes late: kill -9 lands mid-send
    total = 30
    slot = slot_make(capacity=total)
    with held():
        for _ in range(total):
            booking_make(slot=slot, volunteer=emailable())
    ids = list(EmailMessage.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) == total
    env = _smtp_env(smtp_server)
    with broker(django_settings.REDIS_URL):
        messages_enqueue_batches(ids, size=10)
        first = worker_factory(broker_url=django_settings.REDIS_URL, api_url="http://127.0.0.1:1", extra_env=env)
        wait_until(lambda: len(smtp_server.messages) >= 8 and smtp_server.handler.in_flight > 0, timeout=120,
                   interval=0.01, message="the first worker to be mid-batch", detail=lambda: list(
                       EmailMessage.objects.values_list("status", "error_message").distinct()))
        first.kill9()
        assert len(smtp_server.messages) < total
        worker_factory(broker_url=django_settings.REDIS_URL, api_url="http://127.0.0.1:1", extra_env=env)
        _sweep_until_settled()
    rows = list(EmailMessage.objects.values_list("message_id", "status"))
    assert {status for _, status in rows} <= {"sent", "assumed"}
    received = smtp_server.handler.per_message_id()
    assert received == {message_id: 1 for message_id, _ in rows}  # every one once, nothing else
    # A message the server kept while its worker died was recorded as handed over, not sent again.
    assert EmailMessage.objects.filter(status="assumed", attempts__gt=1).exists()
