"""The Twilio backend through the official SDK: the contract against Prism, error paths against a loopback fake."""

import ssl
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from notify.sms import services
from notify.sms.backends import backend_get
from notify.sms.models import SmsMessage
from tests.sms.conftest import TWILIO_SPEC, twilio_configure
from tests.sms.factories import booking_make, slot_make
from tools.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db(transaction=True)


def _due_again(message: SmsMessage) -> None:
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_confirmation_goes_through_the_sdk_and_prism_accepts_the_request(twilio_prism):
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    # Prism answers 422 to any request that breaks Twilio's contract; that would fail the message.
    assert message.status == "queued", (message.error_code, message.error_message)
    assert message.twilio_sid.startswith("SM") and message.attempts == 1


def test_the_lookup_before_a_resend_is_a_valid_list_request(twilio_prism):
    found = backend_get().find(to="+447700900123", body="a body nobody sent", since=timezone.now())
    assert found == []


def test_the_sdk_is_pointed_at_the_configured_url_with_a_timeout(twilio_fake):
    backend = backend_get()
    assert backend.client.http_client.api_url == twilio_fake.url
    assert backend.client.http_client.timeout == 2.0
    booking_make(slot=slot_make())
    assert twilio_fake.creates == 1
    assert twilio_fake.messages[0]["status_callback"] == "https://frontroom.example.org/twilio/status/"


@pytest.mark.parametrize(("http_status", "code"), [(429, 20429), (500, None), (503, 20500)])
def test_rate_limits_and_server_errors_are_retried_with_backoff(twilio_fake, http_status, code):
    twilio_fake.script.append(("error", http_status, code))
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    assert message.status == "pending" and message.attempts == 1 and message.error_code == code
    assert message.next_attempt_at > timezone.now()
    _due_again(message)
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "queued" and message.error_code is None
    assert twilio_fake.creates == 2 and len(twilio_fake.messages) == 1


@pytest.mark.parametrize("code", [21211, 21614, 30005, 30006])
def test_invalid_numbers_fail_permanently_and_mark_the_volunteer(twilio_fake, code):
    twilio_fake.script.append(("error", 400, code))
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    booking.volunteer.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", code)
    assert booking.volunteer.phone_invalid and not booking.volunteer.sms_opted_out
    assert twilio_fake.creates == 1


def test_an_opted_out_recipient_marks_the_volunteer_and_is_never_retried(twilio_fake):
    twilio_fake.script.append(("error", 400, 21610))
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    booking.volunteer.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 21610) and booking.volunteer.sms_opted_out
    assert services.messages_requeue_stuck(grace=timedelta(0)) == 0


def test_a_timed_out_send_that_twilio_accepted_is_found_not_resent(twilio_fake, settings):
    settings.TWILIO_TIMEOUT = 0.5
    twilio_fake.script.append(("lose", 1.5))  # Twilio keeps the message, the response never arrives in time
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    assert message.status == "pending" and message.error_code is None and "Timeout" in message.error_message
    _due_again(message)
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.twilio_sid == twilio_fake.messages[0]["sid"]
    assert twilio_fake.creates == 1 and twilio_fake.lists == 1


def test_a_refused_connection_is_retried(settings):
    from tests.sms.conftest import free_port, twilio_configure

    twilio_configure(settings, f"http://127.0.0.1:{free_port()}")
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    assert message.status == "pending" and "ConnectionRefusedError" in message.error_message


TLS_DIR = Path(__file__).resolve().parent / "tls"


@pytest.fixture
def twilio_over_tls(settings):
    """The loopback fake behind TLS with a certificate for localhost that only tests/sms/tls/localhost.pem vouches for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS_DIR / "localhost.pem", TLS_DIR / "localhost-key.pem")
    fake = FakeTwilio(spec=TWILIO_SPEC, tls=context).start()
    twilio_configure(settings, fake.url)
    yield fake
    fake.stop()
    assert not fake.contract_violations


def test_sends_go_over_tls_checked_against_the_configured_ca_bundle(twilio_over_tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(TLS_DIR / "localhost.pem"))
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    assert twilio_over_tls.url.startswith("https://localhost:")
    assert message.status == "queued" and message.twilio_sid == twilio_over_tls.messages[0]["sid"]
    assert backend_get().client.http_client.ca_bundle == str(TLS_DIR / "localhost.pem")


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(twilio_over_tls, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)  # the public CAs (certifi) do not vouch for it
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    assert message.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in message.error_message
    assert twilio_over_tls.creates == 0 and twilio_over_tls.messages == []
