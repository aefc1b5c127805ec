"""Signed Twilio webhooks: replies answered with TwiML, status callbacks, and forged requests refused."""

from datetime import timedelta
from itertools import count

import pytest
from twilio.request_validator import RequestValidator

from notify.sms.models import SmsMessage
from tests.factories import UserFactory
from tests.sms.conftest import AUTH_TOKEN
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = "https://frontroom.example.org"
_sids = count(1)


@pytest.fixture
def signed_post(client, settings, locmem_sms):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.SMS_WEBHOOK_BASE_URL = PUBLIC

    def post(path: str, params: dict, *, sign_url: str | None = None, tamper: dict | None = None, header=True):
        signature = RequestValidator(AUTH_TOKEN).compute_signature(sign_url or PUBLIC + path, params)
        headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if header else {}
        return client.post(path, {**params, **(tamper or {})}, **headers)

    return post


def _reply(phone: str, body: str) -> dict:
    return {"From": phone, "To": "+447700900000", "Body": body, "MessageSid": f"SM{next(_sids):032d}",
            "AccountSid": "AC" + "a" * 32}


def test_ok_confirms_the_next_booking_and_says_which(signed_post):
    volunteer = volunteer_make(name="Priya Shah")
    later = booking_make(slot=slot_make(starts_in=timedelta(days=5), title="Later session"), volunteer=volunteer)
    sooner = booking_make(slot=slot_make(starts_in=timedelta(days=2), title="Sooner session"), volunteer=volunteer)
    response = signed_post("/twilio/inbound/", _reply(volunteer.phone, "  o k "))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    text = response.content.decode()
    assert "<Message>" in text and "Sooner session" in text and "next of your 2 bookings" in text
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert sooner.attendance_confirmed_at is not None and later.attendance_confirmed_at is None


def test_no_gives_the_place_up_promotes_the_waitlist_and_sends_no_second_sms(signed_post):
    slot = slot_make(capacity=1, title="Full session")
    leaving = booking_make(slot=slot)
    waiting = booking_make(slot=slot)
    response = signed_post("/twilio/inbound/", _reply(leaving.volunteer.phone, "No"))
    assert "given up Full session" in response.content.decode()
    leaving.refresh_from_db()
    waiting.refresh_from_db()
    assert leaving.status == Booking.Status.CANCELLED and waiting.status == Booking.Status.CONFIRMED
    cancelled = SmsMessage.objects.get(booking=leaving, kind="booking_cancelled")
    assert (cancelled.status, cancelled.skip_reason) == ("skipped", "answered_by_reply")
    assert SmsMessage.objects.get(booking=waiting, kind="booking_promoted").status == "queued"


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop all ", "unsubscribe", "CANCEL", "quit", "End", "revoke",
                                  "opt out"])
def test_stop_words_opt_out_without_a_second_reply(signed_post, word):
    volunteer = volunteer_make()
    response = signed_post("/twilio/inbound/", _reply(volunteer.phone, word))
    assert response.status_code == 200 and "<Message>" not in response.content.decode()
    volunteer.refresh_from_db()
    assert volunteer.sms_opted_out


def test_start_opts_back_in_and_opted_out_volunteers_get_no_messages_meanwhile(signed_post):
    volunteer = volunteer_make()
    signed_post("/twilio/inbound/", _reply(volunteer.phone, "STOP"))
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    assert SmsMessage.objects.get(booking=booking).status == "skipped"
    response = signed_post("/twilio/inbound/", _reply(volunteer.phone, "start"))
    assert "<Message>" not in response.content.decode()
    volunteer.refresh_from_db()
    assert not volunteer.sms_opted_out


def test_where_answers_with_the_next_sessions_time_and_address(signed_post):
    volunteer = volunteer_make(name="Priya Shah")
    booking_make(slot=slot_make(starts_in=timedelta(days=5), title="Later session", address="9 Far Road"),
                 volunteer=volunteer)
    booking_make(slot=slot_make(starts_in=timedelta(days=2), title="Sooner session", address="27 Psalter Lane"),
                 volunteer=volunteer)
    text = signed_post("/twilio/inbound/", _reply(volunteer.phone, "where?")).content.decode()
    assert "Priya, Sooner session" in text and "27 Psalter Lane" in text and "host Aisha" in text
    assert "next of your 2 bookings" in text and "Far Road" not in text


def test_where_tells_a_waitlisted_volunteer_they_are_waiting_and_never_gives_the_address(signed_post):
    slot = slot_make(capacity=1, title="Full session", address="27 Psalter Lane")
    booking_make(slot=slot)
    waiting = booking_make(slot=slot, volunteer=volunteer_make(name="Sam Lee"))
    text = signed_post("/twilio/inbound/", _reply(waiting.volunteer.phone, "WHERE")).content.decode()
    assert "Sam, you're on the waitlist for Full session" in text and "Psalter" not in text
    nobody = signed_post("/twilio/inbound/", _reply(volunteer_make().phone, "address")).content.decode()
    assert "no upcoming booking to show" in nobody
    stranger = signed_post("/twilio/inbound/", _reply("+447700900999", "WHERE")).content.decode()
    assert "reply WHERE" in stranger and "Psalter" not in stranger


@pytest.mark.parametrize("body", ["HELP", "what time is it?", ""])
def test_help_and_unknown_words_get_a_short_help_reply(signed_post, body):
    volunteer = volunteer_make()
    response = signed_post("/twilio/inbound/", _reply(volunteer.phone, body))
    assert "OK to confirm" in response.content.decode() and "reply WHERE" in response.content.decode()


@pytest.mark.parametrize("forgery", ["wrong_url", "missing_header", "tampered", "wrong_token"])
def test_a_forged_or_unsigned_request_is_refused_and_changes_nothing(signed_post, forgery, settings):
    volunteer = volunteer_make()
    params = _reply(volunteer.phone, "STOP")
    if forgery == "wrong_url":
        response = signed_post("/twilio/inbound/", params, sign_url="https://evil.example.org/twilio/inbound/")
    elif forgery == "missing_header":
        response = signed_post("/twilio/inbound/", params, header=False)
    elif forgery == "tampered":
        response = signed_post("/twilio/inbound/", _reply(volunteer.phone, "HELP"), tamper={"Body": "STOP"})
    else:
        settings.TWILIO_AUTH_TOKEN = "another-token"
        response = signed_post("/twilio/inbound/", params)
    assert response.status_code == 403 and response.json()["error"]["code"] == "invalid_signature"
    volunteer.refresh_from_db()
    assert not volunteer.sms_opted_out


def test_the_public_url_behind_a_proxy_is_what_is_checked(signed_post, settings):
    settings.SMS_WEBHOOK_BASE_URL = "https://sms.frontroom.example.org/"
    volunteer = volunteer_make()
    response = signed_post("/twilio/inbound/", _reply(volunteer.phone, "STOP"),
                           sign_url="https://sms.frontroom.example.org/twilio/inbound/")
    assert response.status_code == 200


def test_a_signed_request_missing_a_field_gets_400_naming_it(signed_post):
    response = signed_post("/twilio/status/", {"MessageSid": "SM" + "2" * 32})
    assert response.status_code == 400 and "MessageStatus" in response.json()["error"]["fields"]


def test_status_callbacks_only_move_forward(signed_post):
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    for status in ["sent", "delivered", "sent", "queued", "delivered", "undelivered"]:
        response = signed_post("/twilio/status/", {"MessageSid": message.twilio_sid, "MessageStatus": status})
        assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"


def test_an_undelivered_callback_for_an_unknown_number_marks_it_invalid(signed_post):
    booking = booking_make(slot=slot_make())
    message = SmsMessage.objects.get(booking=booking)
    signed_post("/twilio/status/", {"MessageSid": message.twilio_sid, "MessageStatus": "undelivered",
                                    "ErrorCode": "30005", "ErrorMessage": "Unknown destination handset"})
    message.refresh_from_db()
    booking.volunteer.refresh_from_db()
    assert (message.status, message.error_code) == ("undelivered", 30005) and booking.volunteer.phone_invalid


def test_coordinators_see_permanent_failures_through_the_api(client, locmem_sms):
    booking = booking_make(slot=slot_make())
    SmsMessage.objects.filter(booking=booking).update(status="failed", status_rank=4, error_code=21211)
    booking_make(slot=slot_make())
    assert client.get("/api/sms/messages/?status=failed").status_code in (401, 403)
    staff = UserFactory(username="coord", is_staff=True, email="", standing=False)
    client.force_login(staff)
    body = client.get("/api/sms/messages/?status=failed").json()
    assert [row["error_code"] for row in body["results"]] == [21211]
    bad = client.get("/api/sms/messages/?status=lost")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
