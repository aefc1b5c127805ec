"""Each channel as the outbox's contract tests drive it (tests/notify/test_outbox_contract.py): the `channel`
fixture is each in turn."""

from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.utils import timezone

from notify.email.backends import SendError as EmailSendError
from notify.email.models import EmailMessage
from notify.sms.backends import SendError as SmsSendError
from notify.sms.models import SmsMessage
from notify.webhooks import services as webhooks
from notify.webhooks.models import WebhookDelivery
from tests.email.conftest import emailable, mail_outbox  # noqa: F401 - the fixture
from tests.sms.factories import volunteer_make
from tests.webhooks.conftest import loopback_allowed, receiver  # noqa: F401 - the fixtures


@dataclass
class Channel:
    """How a test drives one channel and sees what reached the other side."""

    name: str
    volunteer: object  # () -> a volunteer this channel tells
    row: object  # (booking) -> the row about the booking
    delivered: object  # () -> what reached the other side: the id of each message (Twilio's, Message-ID, webhook-id)
    fail: object  # () -> a context manager in which every attempt fails transiently
    in_flight: dict  # what a worker killed mid-send leaves on the row, besides its status and start time
    in_flight_unreached: dict  # the same, killed before the message reached the other side
    after_takeover: tuple  # (status, messages at the other side) once the sweep took the row over
    personal: tuple  # the columns erasure blanks
    done: str  # the status of a row sent


@pytest.fixture
def sms(locmem_sms, monkeypatch, settings):
    @contextmanager
    def fail():
        class Busy:
            def send(self, **kwargs):
                raise SmsSendError("Too many requests", code=20429, transient=True, http_status=429)

            def find(self, **kwargs):
                return []

        with monkeypatch.context() as patch:
            patch.setattr("notify.sms.services.sending.backend_get", Busy)
            yield

    return Channel(
        name="sms", volunteer=volunteer_make, row=lambda booking: SmsMessage.objects.get(booking=booking),
        delivered=lambda: [text["sid"] for text in locmem_sms], fail=fail,
        # Twilio accepted the message, the worker died before recording its SID: Twilio's list has it.
        in_flight={"twilio_sid": None, "status_rank": SmsMessage.RANK["sending"]},
        # The worker died before Twilio took the message: Twilio's list has nothing, so it is sent.
        in_flight_unreached={"twilio_sid": None, "status_rank": SmsMessage.RANK["sending"]},
        after_takeover=("queued", 1), personal=("to", "body"), done="queued")


@pytest.fixture
def email(mail_outbox, monkeypatch):  # noqa: F811 - the fixture imported above
    @contextmanager
    def fail():
        class Busy:
            def send(self, email, *, on_handover):
                raise EmailSendError("421 Try again later", code=421, transient=True)

        with monkeypatch.context() as patch:
            patch.setattr("notify.email.services.sending.transport", Busy)
            yield

    return Channel(
        name="email", volunteer=emailable,
        row=lambda booking: EmailMessage.objects.get(booking=booking, volunteer=booking.volunteer),
        delivered=lambda: [email.extra_headers["Message-ID"] for email in mail_outbox], fail=fail,
        # The worker died after the final "." of DATA: the server may hold it, so it is never sent again.
        in_flight={"handed_over_at": timezone.now()},
        # No hand-over mark: the server dropped the unfinished message, so it is sent.
        in_flight_unreached={"handed_over_at": None},
        after_takeover=("assumed", 1), personal=("to", "subject"), done="sent")


@pytest.fixture
def webhook(receiver, loopback_allowed):  # noqa: F811 - the fixtures imported above
    webhooks.endpoint_create(user=None, url=receiver.url + "/crm")

    @contextmanager
    def fail():
        receiver.script["/crm"] = [500] * 10
        yield
        receiver.script["/crm"] = []

    return Channel(
        name="webhooks", volunteer=volunteer_make,
        row=lambda booking: WebhookDelivery.objects.get(event__booking=booking),
        delivered=lambda: [request.headers["webhook-id"] for request in receiver.requests], fail=fail,
        # At least once: the POST may have gone, so it goes again, under the same webhook-id for the receiver.
        in_flight={}, in_flight_unreached={}, after_takeover=("delivered", 2), personal=("body",), done="delivered")


@pytest.fixture(params=["sms", "email", "webhook"])
def channel(request) -> Channel:
    return request.getfixturevalue(request.param)
