"""Fixtures for the email tests: a real SMTP server (aiosmtpd) on a free loopback port, with switches for the
replies a real server gives (4xx, 5xx, a slow answer to the end of DATA), and data builders."""

import threading
import time
from collections import Counter
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from notify.email.backends import transport_reset
from tests.sms.conftest import free_port, worker_factory  # noqa: F401 - the fixture, for test_faults
from tests.sms.factories import booking_make, next_mobile, slot_make, volunteer_make  # noqa: F401 - re-exported
from volunteers.models import Volunteer

_emails = iter(range(1, 10**9))


class Handler:
    """Keeps every message the server accepted; `rcpt_replies` and `data_replies` script refusals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.rcpt_replies: dict[str, list[str]] = {}  # address -> replies to give, one per attempt, then accept
        self.data_delay = 0.0  # seconds before answering the end of DATA (the message is kept first)
        self.in_flight = 0  # messages kept whose "250" has not been answered yet
        self.transactions = 0
        self.rcpt_seen: Counter = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_seen[address] += 1
            scripted = self.rcpt_replies.get(address)
            if scripted:
                return scripted.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.transactions += 1
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": parsed,
                                  "message_id": parsed["Message-ID"], "received": time.monotonic()})
        if self.data_delay:
            with self.lock:
                self.in_flight += 1
            try:
                await asyncio.sleep(self.data_delay)
            finally:
                with self.lock:
                    self.in_flight -= 1
        return "250 Message accepted for delivery"

    def per_message_id(self) -> Counter:
        with self.lock:
            return Counter(m["message_id"] for m in self.messages)


class SmtpServer:
    def __init__(self):
        self.handler = Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, timeout=30)

    @property
    def messages(self):
        return self.handler.messages

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


SMTP.line_length_limit = 10_000


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 and a free port; Django's SMTP backend pointed at it."""
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "", ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_RETRY_BASE_SECONDS = 0.2
    settings.EMAIL_RETRY_MAX_SECONDS = 0.5
    transport_reset()
    yield server
    transport_reset()
    server.stop()


@pytest.fixture
def mail_outbox(settings):
    """Django's locmem backend: the emails sent, as django.core.mail.outbox."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    transport_reset()
    mail.outbox = []
    yield mail.outbox
    transport_reset()


def emailable(**extra) -> Volunteer:
    """A volunteer who gave an address and ticked the email box."""
    from django.utils import timezone

    n = next(_emails)
    fields = {"email": f"volunteer{n}@example.org", "consent_email": True, "consent_email_at": timezone.now(),
              "consent_email_version": "2026-12-email-1", **extra}
    return volunteer_make(**fields)


def held():
    """Commit without handing the emails to Celery, as with the broker down at commit time (the rows stay pending)."""
    from contextlib import ExitStack
    from unittest import mock

    stack = ExitStack()
    stack.enter_context(mock.patch("notify.email.services.outbox.message_enqueue"))
    stack.enter_context(mock.patch("notify.email.services.outbox.messages_enqueue_batches"))
    return stack
