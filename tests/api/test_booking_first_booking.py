"""A volunteer's first booking on a slot with room takes one statement for the slot, the volunteer, the
booking, its event and the phone challenge (PostgreSQL), then the code text's outbox row and the claim: the
rows must be exactly those the general path writes, and losing the place in between must undo them all."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from notify.sms.models import SmsMessage
from notify.sms.services import outbox
from sessions.models import Slot
from tests.factories import texted_code
from volunteers import events, identity, services
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer
from volunteers.services import booking as booking_services
from volunteers.services import requests as request_services
from volunteers.services import waitlist as waitlist_services

PHONES = ("+447400000101", "+447400000102")
SKIP = {"id", "phone", "token", "manage_token", "created_at", "updated_at", "held_since", "held_until", "processed_at", "volunteer", "booking", "to",
        "body", "challenge", "code_hash", "expires_at", "consent_sms_at"}


def _book(slot, phone: str, **extra) -> PhoneChallenge:
    return identity.booking_request(slot_id=slot.id, name="Aisha Khan", phone=phone,
                                    postcode=slot.session.meeting_point.postcode, consent_sms=True,
                                    client_ip="198.51.100.1", **extra)


def _general_path_only(monkeypatch):
    from core.db import get_with_related

    monkeypatch.setattr(request_services, "_booking_first_hold", lambda *, slot_id, volunteer, challenge, code, **_: (
        get_with_related(Slot, slot_id, related=services.SLOT_RELATED), None))


def _columns(instance) -> dict:
    return {f.name: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields if f.name not in SKIP}


@pytest.mark.django_db
def test_the_first_booking_writes_what_the_general_path_writes(slot, monkeypatch):
    fast_challenge = _book(slot, PHONES[0], email="aisha@example.org")
    fast = fast_challenge.booking
    _general_path_only(monkeypatch)
    general_challenge = _book(slot, PHONES[1], email="aisha@example.org")
    general = general_challenge.booking
    fast_volunteer, general_volunteer = Volunteer.objects.get(phone=PHONES[0]), Volunteer.objects.get(phone=PHONES[1])
    assert _columns(fast_volunteer) == _columns(general_volunteer)
    assert _columns(Booking.objects.get(pk=fast.pk)) == _columns(Booking.objects.get(pk=general.pk))
    assert _columns(fast) == _columns(Booking.objects.get(pk=fast.pk))  # the returned instance is the stored row
    [fast_event], [general_event] = BookingEvent.objects.filter(booking=fast), BookingEvent.objects.filter(booking=general)
    assert _columns(fast_event) == _columns(general_event)
    assert (fast_event.processed_at is None) == (general_event.processed_at is None)
    assert _columns(PhoneChallenge.objects.get(pk=fast_challenge.pk)) == _columns(
        PhoneChallenge.objects.get(pk=general_challenge.pk))
    assert _columns(fast_challenge) == _columns(PhoneChallenge.objects.get(pk=fast_challenge.pk))
    # A new volunteer is written of what was said, but for the email: that waits for the code.
    assert fast_challenge.pending_details == {"email": "aisha@example.org", "consent_email": False}
    assert fast_challenge.volunteer_id == fast.volunteer_id and fast_volunteer.email == ""
    [fast_sms] = SmsMessage.objects.filter(challenge=fast_challenge)
    [general_sms] = SmsMessage.objects.filter(challenge=general_challenge)
    assert _columns(fast_sms) == _columns(general_sms)

    def anonymous(sms, booking, challenge) -> str:
        return sms.body.replace(booking.manage_token, "<token>").replace(texted_code(challenge.token), "<code>")

    assert anonymous(fast_sms, fast, fast_challenge) == anonymous(general_sms, general, general_challenge)
    assert not SmsMessage.objects.filter(booking__isnull=False).exists()  # the code text is the only text
    slot.refresh_from_db()
    assert slot.confirmed_count == 2


@pytest.mark.django_db
def test_the_first_booking_is_one_statement_then_the_outbox_row_and_the_claim(slot):
    with CaptureQueriesContext(connection) as captured:
        _book(slot, PHONES[0])
    verbs = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    # postcode lookup; whether the phone replied STOP (texts_stopped_check, the same for every phone); the slot,
    # volunteer, booking, event and challenge; the code text; the webhook deliveries (one INSERT ... SELECT over
    # the enabled endpoints, none here); the claim (savepoints in tests)
    assert verbs.count("WITH") == 1 and verbs.count("INSERT") == 2 and verbs.count("UPDATE") == 1, verbs
    assert len([v for v in verbs if v not in ("SAVEPOINT", "RELEASE")]) == 6, verbs
    assert "canvass_slot" in captured.captured_queries[-2]["sql"] or "canvass_slot" in captured.captured_queries[-1]["sql"]


@pytest.mark.django_db
@pytest.mark.parametrize("known", [False, True])
def test_a_known_phone_or_a_full_slot_falls_back_to_the_general_path_with_nothing_written_twice(slot, known):
    if known:
        _book(slot, PHONES[0])
        other = Slot.objects.create(session=slot.session, starts_at=slot.ends_at,
                                    ends_at=slot.ends_at + (slot.ends_at - slot.starts_at), capacity=5)
        result = _book(other, PHONES[0])
        assert result.booking.status == "confirmed" and result.booking.slot_id == other.pk
        assert Volunteer.objects.count() == 1 and Booking.objects.count() == 2
        assert _book(other, PHONES[0]).booking.pk == result.booking.pk  # idempotent: nothing new held
        assert Booking.objects.count() == 2 and PhoneChallenge.objects.count() == 3
    else:
        Slot.objects.filter(pk=slot.pk).update(capacity=1, confirmed_count=1)
        result = _book(slot, PHONES[0])
        assert result.booking.status == "waitlisted"
        assert list(BookingEvent.objects.values_list("kind", flat=True)) == ["booking_waitlisted"]
        assert list(SmsMessage.objects.values_list("kind", flat=True)) == ["phone_code"]


@pytest.mark.django_db(transaction=True)
def test_a_place_taken_before_the_claim_undoes_the_first_booking_and_waitlists(slot, monkeypatch):
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    real_claim = request_services.slot_claim_place

    def someone_else_takes_the_last_place():
        Slot.objects.filter(pk=slot.pk).update(confirmed_count=1)
        connections.close_all()

    def claim_after_the_race(*, slot_id):
        thread = threading.Thread(target=someone_else_takes_the_last_place)
        thread.start()
        thread.join()
        return real_claim(slot_id=slot_id)

    for module in (request_services, booking_services, waitlist_services):  # wherever a booking claims a place
        monkeypatch.setattr(module, "slot_claim_place", claim_after_the_race)
    enqueued = []
    monkeypatch.setattr(outbox, "message_enqueue", lambda message_id, **kwargs: enqueued.append(("sms", message_id)))
    monkeypatch.setattr(events, "_enqueue", lambda task, argument: enqueued.append(("event", argument)))
    result = _book(slot, PHONES[0])
    assert result.booking.status == "waitlisted"
    assert Volunteer.objects.count() == 1 and Booking.objects.count() == 1 and PhoneChallenge.objects.count() == 1
    assert list(BookingEvent.objects.values_list("kind", flat=True)) == ["booking_waitlisted"]
    assert list(SmsMessage.objects.values_list("kind", flat=True)) == ["phone_code"]
    assert "waitlist" in SmsMessage.objects.get().body
    # After commit: the code text's send and the waitlisted event's handlers, nothing of the undone confirmation.
    assert sorted(enqueued) == [("event", BookingEvent.objects.get().pk), ("sms", SmsMessage.objects.get().pk)]
    assert transaction.get_autocommit()
