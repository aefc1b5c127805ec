"""Hosts who chose texts are texted when someone books or gives up a place on their sessions, through the SMS
outbox: once per booking event, only once the phone is proven, never their own acts, first names only, STOP from
their number, quiet hours (waits for the morning) and the number's daily limit."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from notify.host_notifications import host_notifications_get, host_notifications_set
from notify.pacing import quiet_hours_end
from notify.sms import services
from notify.sms.models import HostSmsPreference, SmsMessage
from notify.sms.segments import segments_count
from notify.sms.services.hosts import host_text_record_for_proof
from sessions.services import session_cancel
from tests.embedded import embedded_run
from tests.factories import BookingFactory, PostcodeFactory, SlotFactory, booking_ask, next_mobile
from tests.sms.conftest import AUTH_TOKEN
from tests.sms.factories import booking_make, host_mobile_prove, slot_make, volunteer_make
from volunteers.identity import booking_prove_by_link
from volunteers.models import Booking
from volunteers.services import booking_cancel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("daytime")]

HOST_MOBILE = "+447400999777"


def _hosted_slot(*, each: str = "text", mobile: str = HOST_MOBILE, proven: bool = True, **kwargs):
    slot = slot_make(**kwargs)
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.save(update_fields=["email"])
    host_notifications_set(host=host, each=each, digest=False, mobile=mobile)
    if proven and each in ("text", "both"):
        host_mobile_prove(host)
    return slot, host


def _asked(slot, name="Sam Smith"):
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    challenge = booking_ask(slot_id=slot.pk, name=name, phone=next_mobile(), postcode=postcode)
    return Booking.objects.get(pk=challenge.booking_id)


def _host_texts(host):
    """The host's texts about bookings (not the code that proved the mobile)."""
    return list(SmsMessage.objects.filter(host=host).exclude(kind="host_code").order_by("id"))


def test_a_booking_proven_on_a_session_of_a_host_who_chose_texts_texts_the_host_once(daytime):
    slot, host = _hosted_slot()
    booking = _asked(slot)
    assert _host_texts(host) == []  # unproven: it may be somebody else's number
    booking_prove_by_link(manage_token=booking.manage_token)
    booking_prove_by_link(manage_token=booking.manage_token)  # opened again: proven once
    booking.refresh_from_db()
    assert host_text_record_for_proof(booking=booking) == 0  # the receiver run twice: one text
    [text] = _host_texts(host)
    assert (text.kind, text.to, text.volunteer_id, text.booking_id) == ("host_booked", HOST_MOBILE, None, booking.pk)
    assert text.body.startswith("Frontroom: Sam booked ") and "Smith" not in text.body
    assert booking.volunteer.phone not in text.body and booking.volunteer.phone[-9:] not in text.body
    assert f"/host/sessions/{slot.session_id}/" in text.body and "Reply STOP" in text.body
    assert text.segments <= 2 and text.encoding == "GSM-7"
    # Sent on commit (eager Celery here), once: the task run again finds nothing to claim.
    assert SmsMessage.objects.get(pk=text.pk).status == "queued"
    assert services.message_send(message_id=text.pk) == "not_due"
    assert [sent["body"][:14] for sent in daytime if sent["to"] == HOST_MOBILE] == [
        "Frontroom code", "Frontroom: Sam"]  # the code that proved the mobile, then the booking: once


def test_a_host_who_chose_email_only_or_nothing_is_not_texted(daytime):
    for each in ("email", "none"):
        slot, host = _hosted_slot(each=each)
        booking_prove_by_link(manage_token=_asked(slot).manage_token)
        assert _host_texts(host) == []
    assert not [sent for sent in daytime if sent["to"] == HOST_MOBILE]  # no code either: texts not chosen


def test_a_cancellation_is_texted_and_the_hosts_own_acts_are_not(daytime):
    slot, host = _hosted_slot(each="both")
    first = booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    booking_make(slot=slot, volunteer=volunteer_make(name="Priya Shah"))
    booking_cancel(manage_token=first.manage_token)
    kinds = [(text.kind, text.body.split(":")[1].split()[0]) for text in _host_texts(host)]
    assert kinds == [("host_booked", "Jo"), ("host_booked", "Priya"), ("host_cancelled", "Jo")]
    assert "can no longer come" in _host_texts(host)[-1].body
    session_cancel(user=host, session_id=slot.session_id)  # the host's own act: not echoed back
    assert len(_host_texts(host)) == 3


def test_stop_from_the_hosts_mobile_stops_their_texts_and_start_brings_them_back(daytime, settings):
    settings.TWILIO_AUTH_TOKEN, settings.SMS_WEBHOOK_BASE_URL = AUTH_TOKEN, "https://frontroom.example.org"

    def reply(body: str, sid: str):
        params = {"From": HOST_MOBILE, "To": "+447700900000", "Body": body, "MessageSid": sid,
                  "AccountSid": "AC" + "a" * 32}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            "https://frontroom.example.org/twilio/inbound/", params)
        return Client().post("/twilio/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)

    slot, host = _hosted_slot()
    assert reply("Stop", "SM" + "1" * 32).status_code == 200
    assert HostSmsPreference.objects.get(host=host).sms_opted_out
    assert host_notifications_get(host=host).texts_stopped
    booking_make(slot=slot)
    [text] = _host_texts(host)
    assert (text.status, text.skip_reason) == ("skipped", "opted_out")
    reply("START", "SM" + "2" * 32)
    booking_make(slot=slot)
    assert [t.status for t in _host_texts(host)] == ["skipped", "queued"]


def test_a_text_already_written_is_skipped_once_the_host_turns_texts_off_or_changes_mobile(daytime, monkeypatch):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    slot, host = _hosted_slot()
    booking_make(slot=slot)
    booking_make(slot=slot)
    first, second = _host_texts(host)
    host_notifications_set(host=host, each="text", digest=False, mobile="07400 999888")
    assert services.message_send(message_id=first.pk) == "skipped"
    host_notifications_set(host=host, each="none", digest=False, mobile="07400 999888")
    assert services.message_send(message_id=second.pk) == "skipped"
    assert {text.skip_reason for text in _host_texts(host)} == {"host_preference"}


def test_in_quiet_hours_a_host_text_waits_for_the_morning(settings, daytime, monkeypatch):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    slot, host = _hosted_slot()
    booking_make(slot=slot)
    [text] = _host_texts(host)
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59)
    assert services.message_send(message_id=text.pk) == "deferred"
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("pending", 0)  # the deferral spends no attempt
    assert text.next_attempt_at == quiet_hours_end(timezone.now()) and text.next_attempt_at > timezone.now()
    assert services.message_send(message_id=text.pk) == "not_due"  # not before the morning
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)
    SmsMessage.objects.filter(pk=text.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5),
                                                 updated_at=timezone.now() - timedelta(minutes=5))
    assert services.messages_requeue_stuck() == 1  # the sweep hands it on once the morning comes
    text.refresh_from_db()
    assert text.status == "queued" and daytime[-1]["to"] == HOST_MOBILE


def test_quiet_hours_end_is_the_next_morning(settings):
    settings.SMS_QUIET_HOURS_END = time(9, 0)
    late = timezone.make_aware(datetime(2026, 12, 5, 23, 30))
    early = timezone.make_aware(datetime(2026, 12, 6, 6, 0))
    assert timezone.localtime(quiet_hours_end(late)) == timezone.make_aware(datetime(2026, 12, 6, 9, 0))
    assert timezone.localtime(quiet_hours_end(early)) == timezone.make_aware(datetime(2026, 12, 6, 9, 0))


def test_the_numbers_daily_limit_caps_the_hosts_texts(settings, daytime, monkeypatch, ratelimit_clock):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_phone_day": "3/d"}
    mobile = next_mobile()
    slot, host = _hosted_slot(mobile=mobile)  # the code that proved the mobile is the day's first text to it
    for _ in range(3):
        booking_make(slot=slot)
    assert [services.message_send(message_id=text.pk) for text in _host_texts(host)] == ["sent", "sent", "skipped"]
    assert _host_texts(host)[-1].skip_reason == "daily_limit"


def test_a_host_text_retried_after_a_transient_error_counts_once_in_the_daily_limit(settings, daytime, monkeypatch,
                                                                                      ratelimit_clock):
    from notify.sms.backends import LocmemBackend, SendError

    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    monkeypatch.setattr("notify.sms.services.outbox.message_enqueue", lambda *args, **kwargs: None)
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_phone_day": "3/d"}
    mobile = next_mobile()
    slot, host = _hosted_slot(mobile=mobile)  # its code: the day's first text to the number
    booking_make(slot=slot)
    booking_make(slot=slot)
    first, second = _host_texts(host)
    failures = [SendError("Too many requests", code=20429, transient=True, http_status=429)] * 2
    send = LocmemBackend.send

    def flaky(self, **kwargs):
        if failures:
            raise failures.pop()
        return send(self, **kwargs)

    monkeypatch.setattr(LocmemBackend, "send", flaky)

    def due(message):
        SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert services.message_send(message_id=first.pk) == "retrying"
    due(first)
    assert services.message_send(message_id=first.pk) == "retrying"
    due(first)
    assert services.message_send(message_id=first.pk) == "sent"  # three attempts, one text in the limit
    assert services.message_send(message_id=second.pk) == "sent"  # the third of three
    first.refresh_from_db()
    assert (first.status, first.attempts) == ("queued", 3)


def _taken(text) -> str:
    return text.body.split("(")[1].split(" places")[0]


def test_places_taken_are_the_slots_after_each_change_promotions_and_swaps_included(daytime):
    from volunteers.services import booking_swap

    slot, host = _hosted_slot(capacity=2)
    later = SlotFactory(session=slot.session, starts_at=slot.ends_at, ends_at=slot.ends_at + timedelta(hours=2),
                        capacity=5, turf="")
    # booking_make hands booking_place the slot as loaded before any booking: the texts must not take its count.
    first = booking_make(slot=slot, volunteer=volunteer_make(name="Ann One"))
    second = booking_make(slot=slot, volunteer=volunteer_make(name="Ben Two"))
    waiting = [booking_make(slot=slot, volunteer=volunteer_make(name=name)) for name in ("Cat Three", "Dan Four")]
    assert {booking.status for booking in waiting} == {"waitlisted"}
    booking_cancel(manage_token=first.manage_token)  # Cat is promoted after commit
    booking_swap(manage_token=second.manage_token, slot_id=later.pk)  # Dan is promoted in the swap's transaction
    told = [(text.kind, text.body.split(":")[1].split()[0], _taken(text)) for text in _host_texts(host)]
    assert told == [
        ("host_booked", "Ann", "1 of 2"), ("host_booked", "Ben", "2 of 2"),
        ("host_cancelled", "Ann", "1 of 2"), ("host_booked", "Cat", "2 of 2"),
        ("host_booked", "Dan", "2 of 2"),  # Ben's move within the session is not news to the host
    ]
    slot.refresh_from_db()
    assert slot.confirmed_count == 2


def test_an_assignment_commits_places_taken_count_its_own_bookings(daytime):
    from django.db import transaction

    from volunteers.events import booking_events_record_bulk
    from volunteers.models import BookingEvent

    slot, host = _hosted_slot(capacity=3)
    with transaction.atomic():  # as dispatch.services.assignment: events first, the slots' counts after
        bookings = Booking.objects.bulk_create(
            [BookingFactory.build(volunteer=volunteer_make(), slot=slot,
                     source=Booking.Source.ASSIGNED, proven_at=timezone.now()) for _ in range(2)])
        booking_events_record_bulk(booking_versions=[(b.pk, b.version) for b in bookings],
                                   kind=BookingEvent.Kind.CONFIRMED, payload={"source": "assigned"})
    assert [_taken(text) for text in _host_texts(host)] == ["2 of 3", "2 of 3"]


def test_the_mobile_must_be_a_uk_mobile_and_is_stored_normalised():
    from core.errors import InvalidInput

    slot, host = _hosted_slot(mobile="07400 999777")
    assert HostSmsPreference.objects.get(host=host).mobile == HOST_MOBILE
    for bad in ("0114 222 2000", "not a number", ""):
        with pytest.raises(InvalidInput) as raised:
            host_notifications_set(host=host, each="text", digest=False, mobile=bad)
        assert list(raised.value.fields) == ["mobile"]
    assert HostSmsPreference.objects.get(host=host).mobile == HOST_MOBILE  # nothing changed


def test_erasing_the_volunteer_blanks_the_hosts_text_about_them(daytime):
    from volunteers.privacy import volunteer_personal_data_erase

    slot, host = _hosted_slot()
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    volunteer_personal_data_erase(volunteer_id=booking.volunteer_id)
    assert all(text.body == "" and text.to == HOST_MOBILE for text in _host_texts(host))


@pytest.mark.parametrize("kind", ["host_booked", "host_cancelled"])
def test_a_hosts_text_stays_within_two_gsm7_segments_for_realistic_data(kind, settings):
    from notify.sms.segments import segments_count
    from notify.sms.texts import host_text

    settings.PUBLIC_BASE_URL = "https://frontroom.momentum-campaigns.example.org"
    slot = slot_make(title="Saturday morning doorstep session \u2013 Crookes, Walkley & Upperthorpe (bring a friend!)")
    booking = booking_make(slot=slot, volunteer=volunteer_make(name="Anne-Marie \u00d3 S\u00failleabh\u00e1in-W\u00f3jcik"))
    text = host_text(kind=kind, booking=booking)
    count = segments_count(text)
    assert count.encoding == "GSM-7" and count.segments <= 2, (count, text)
    assert "Anne-Marie" in text and "Wojcik" not in text and "..." in text  # the long title clipped at a word


SQLITE_SCRIPT = r"""
import json
import re
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from notify.host_notifications import host_notifications_set
from notify.sms.models import SmsMessage
from sessions.models import Slot

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
slot = Slot.objects.filter(starts_at__gt=timezone.now(), session__requires_approval=False).order_by("starts_at").first()
host = slot.session.meeting_point.host
host_notifications_set(host=host, each="text", digest=False, mobile="07400 555551")
from notify.sms.services import host_mobile_verify
texted = SmsMessage.objects.get(host=host, kind="host_code")
assert texted.status == "queued", texted.status
host_mobile_verify(host=host, code=re.search(r"code (\d{6})", texted.body).group(1), client_ip="127.0.0.1")
client = Client()
response = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Lite", "phone": "07400 555552",
                       "postcode": slot.session.meeting_point.postcode, "consent_sms": True},
                       content_type="application/json")
challenge = response.json()["challenge"]
before = SmsMessage.objects.filter(host=host).exclude(kind="host_code").count()
body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": re.search(r"code (\d{6})", body).group(1)},
                     content_type="application/json").json()
client.post(f"/api/bookings/{proven['manage_token']}/cancel/")
rows = list(SmsMessage.objects.filter(host=host).exclude(kind="host_code").order_by("id")
            .values_list("kind", "to", "status"))
print("RESULT " + json.dumps({"before": before, "rows": rows}))
"""


@pytest.mark.server  # a child process
def test_hosts_texts_work_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SQLITE_SCRIPT, tmp_path, SMS_BACKEND="console", SMS_QUIET_HOURS_START="00:00",
                          SMS_QUIET_HOURS_END="00:00", RATE_LIMITS_ENABLED="false")
    assert result == {"before": 0, "rows": [["host_booked", "+447400555551", "queued"],
                                            ["host_cancelled", "+447400555551", "queued"]]}


def test_a_host_who_reads_welsh_is_texted_in_welsh(daytime):
    from sessions.hosts import host_language_set

    slot, host = _hosted_slot()
    host_language_set(host=host, language="cy")
    booking = _asked(slot)
    booking_prove_by_link(manage_token=booking.manage_token)  # in English: the volunteer's language is not the host's
    [text] = _host_texts(host)
    assert text.body.startswith("Frontroom: archebodd Sam ") and "(1 o " in text.body, text.body
    assert text.encoding == "GSM-7" and text.segments == segments_count(text.body).segments <= 2
