"""A signed Twilio webhook is handled once per MessageSid (and status): replays answer 200 and change nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from notify.sms.models import SmsMessage, WebhookReceipt
from tests.sms.conftest import AUTH_TOKEN
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.threads import run_together
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = "https://frontroom.example.org"


@pytest.fixture
def signed(settings, locmem_sms):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.SMS_WEBHOOK_BASE_URL = PUBLIC

    def post(path: str, params: dict, client: Client | None = None):
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
        return (client or Client()).post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    return post


def _no_from(phone: str, sid: str = "SM" + "7" * 32) -> dict:
    return {"From": phone, "To": "+447700900000", "Body": "NO", "MessageSid": sid, "AccountSid": "AC" + "a" * 32}


def _two_bookings():
    volunteer = volunteer_make(name="Priya Shah")
    sooner = booking_make(slot=slot_make(starts_in=timedelta(days=2), title="Sooner"), volunteer=volunteer)
    later = booking_make(slot=slot_make(starts_in=timedelta(days=5), title="Later"), volunteer=volunteer)
    return volunteer, sooner, later


def test_a_signed_no_sent_twice_cancels_once(signed):
    volunteer, sooner, later = _two_bookings()
    first = signed("/twilio/inbound/", _no_from(volunteer.phone))
    replay = signed("/twilio/inbound/", _no_from(volunteer.phone))
    assert first.status_code == 200 and "given up Sooner" in first.content.decode()
    assert replay.status_code == 200 and replay["Content-Type"].startswith("text/xml")
    assert "<Message>" not in replay.content.decode()
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.status, later.status) == (Booking.Status.CANCELLED, Booking.Status.CONFIRMED)
    # A new NO (a new MessageSid) is a new request and gives up the next booking, as the reply says.
    signed("/twilio/inbound/", _no_from(volunteer.phone, sid="SM" + "8" * 32))
    later.refresh_from_db()
    assert later.status == Booking.Status.CANCELLED


def test_concurrent_replays_are_processed_once(signed):
    volunteer, sooner, later = _two_bookings()
    answers = []
    errors = run_together(*[lambda: answers.append(signed("/twilio/inbound/", _no_from(volunteer.phone)))] * 6)
    assert errors == []
    assert sorted(a.status_code for a in answers) == [200] * 6
    assert sum("<Message>" in a.content.decode() for a in answers) == 1
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.status, later.status) == (Booking.Status.CANCELLED, Booking.Status.CONFIRMED)
    assert WebhookReceipt.objects.filter(kind="inbound").count() == 1


@pytest.mark.parametrize("path", ["/twilio/inbound/", "/twilio/status/"])
def test_a_signed_request_without_message_sid_is_a_400_naming_it(signed, path):
    volunteer, sooner, _later = _two_bookings()
    params = {"From": volunteer.phone, "Body": "NO", "MessageStatus": "delivered"}
    response = signed(path, params)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"MessageSid": ["This field is required."]}
    too_long = signed(path, {**params, "MessageSid": "SM" + "9" * 70})
    assert too_long.status_code == 400 and "MessageSid" in too_long.json()["error"]["fields"]
    sooner.refresh_from_db()
    assert sooner.status == Booking.Status.CONFIRMED and not WebhookReceipt.objects.exists()


def test_a_replayed_error_callback_is_applied_once_and_each_status_once(signed, monkeypatch):
    from notify.sms.services import outbox

    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    flagged = []
    original = outbox.volunteer_flags_for_error
    monkeypatch.setattr(outbox, "volunteer_flags_for_error", lambda **kw: (flagged.append(kw), original(**kw)))
    callback = {"MessageSid": message.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert [signed("/twilio/status/", callback).status_code for _ in range(3)] == [204] * 3
    assert len(flagged) == 1
    assert WebhookReceipt.objects.filter(kind="status", message_sid=message.twilio_sid).count() == 1
    signed("/twilio/status/", {"MessageSid": message.twilio_sid, "MessageStatus": "delivered"})
    assert WebhookReceipt.objects.filter(kind="status", message_sid=message.twilio_sid).count() == 2
