"""What reaches Twilio: ValidityPeriod on every text (so none is delivered after its latest useful time) and the
Messaging Service instead of a From number when one is configured; checked against the loopback fake, which
records the parameters, and against Prism, which holds them to Twilio's published contract."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from notify.sms import services
from notify.sms.models import SmsMessage
from notify.sms.twilio_http import KeepAliveHttpClient
from tests.sms.factories import booking_make, slot_make

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE_SID = "MG" + "0123456789abcdef" * 2


def _code_text(booking) -> SmsMessage:
    challenge = booking.volunteer.challenges.create(
        phone=booking.volunteer.phone, purpose="my", code_hash="x" * 64, max_attempts=5,
        expires_at=timezone.now() + timedelta(minutes=10))
    with transaction.atomic():
        return services.challenge_message_record(challenge=challenge, code="123456", situation="my_bookings")


def test_a_messaging_service_sends_in_place_of_the_number_with_a_validity_period(twilio_fake, settings, never_quiet):
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE_SID
    settings.SMS_VALIDITY_SECONDS = 7200
    booking = booking_make(slot=slot_make())
    confirmation = twilio_fake.messages[-1]
    assert confirmation["messaging_service_sid"] == SERVICE_SID and confirmation["from"] is None
    assert confirmation["validity_period"] == "7200"  # no time of its own: the setting
    assert SmsMessage.objects.get(booking=booking).status == "queued"

    _code_text(booking)
    code = twilio_fake.messages[-1]
    assert "123456" in code["body"]
    assert 590 <= int(code["validity_period"]) <= 600  # the code's own life, ten minutes


def test_prism_accepts_the_validity_period_and_the_messaging_service(twilio_prism, settings, never_quiet):
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE_SID
    sent = []
    real_request = KeepAliveHttpClient.request

    def recording(self, method, url, params=None, data=None, **kwargs):
        if method.upper() == "POST":
            sent.append(dict(data or {}))
        return real_request(self, method, url, params=params, data=data, **kwargs)

    with mock.patch.object(KeepAliveHttpClient, "request", recording):
        booking = booking_make(slot=slot_make())
        message = SmsMessage.objects.get(booking=booking)
        # Prism answers every create with its example SID, which the next text would repeat.
        SmsMessage.objects.filter(pk=message.pk).update(twilio_sid="SM" + "b" * 32)
        code = _code_text(booking)
    message.refresh_from_db()
    code.refresh_from_db()
    # Prism answers 422 to a request that breaks Twilio's contract; that would fail the message.
    assert message.status == "queued", (message.error_code, message.error_message)
    assert code.status == "queued", (code.error_code, code.error_message)
    assert [(form["MessagingServiceSid"], "From" in form) for form in sent] == [(SERVICE_SID, False)] * 2
    assert int(sent[0]["ValidityPeriod"]) == 14400
    assert 590 <= int(sent[1]["ValidityPeriod"]) <= 600
