"""The right code of a new phone's booking request is checked, counted, claimed and applied by one statement
(PostgreSQL, volunteers.code_check): the rows it writes and the answers it gives must be exactly those of the
general path, which every other case (and SQLite) takes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notify.sms.models import SmsMessage
from tests.factories import SlotFactory, book, texted_code
from tests.threads import run_together
from volunteers import code_check, identity
from volunteers.identity import verification
from volunteers.models import Booking, BookingEvent, PhoneChallenge, Volunteer
from volunteers.serializers import BookingSerializer

PHONES = ("+447400000201", "+447400000202")
SKIP = {"id", "phone", "token", "manage_token", "created_at", "updated_at", "held_since", "held_until", "verified_at", "proven_at",
        "phone_verified_at", "consent_sms_at", "expires_at", "code_hash", "volunteer", "booking"}


def _ask(slot, phone: str, email: str = "") -> PhoneChallenge:
    return identity.booking_request(slot_id=slot.id, name="Aisha Khan", phone=phone, email=email,
                                    postcode=slot.session.meeting_point.postcode, consent_sms=True,
                                    client_ip="198.51.100.1")


def _verify(challenge: PhoneChallenge, code: str | None = None):
    return identity.challenge_verify(challenge_token=challenge.token, code=code or texted_code(challenge.token),
                                     client_ip="198.51.100.2")


def _general_path_only(monkeypatch):
    monkeypatch.setattr(code_check, "fits", lambda challenge: False)


def _columns(instance) -> dict:
    return {f.name: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields if f.name not in SKIP}


def _refusal(work) -> tuple[str, dict]:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the domain error is compared below
        work()
    return raised.value.code, raised.value.fields


def _anonymous(data: dict, booking: Booking) -> dict:
    return {key: value for key, value in data.items() if key not in ("id", "manage_token", "created_at")}


@pytest.mark.django_db
def test_the_right_code_writes_and_answers_what_the_general_path_does(slot, monkeypatch):
    fast_challenge, general_challenge = _ask(slot, PHONES[0]), _ask(slot, PHONES[1])
    fast = _verify(fast_challenge)
    _general_path_only(monkeypatch)
    general = _verify(general_challenge)
    assert isinstance(fast, Booking) and isinstance(general, Booking)
    for model, fast_pk, general_pk in ((Booking, fast.pk, general.pk),
                                       (Volunteer, fast.volunteer_id, general.volunteer_id),
                                       (PhoneChallenge, fast_challenge.pk, general_challenge.pk)):
        fast_row, general_row = model.objects.get(pk=fast_pk), model.objects.get(pk=general_pk)
        assert _columns(fast_row) == _columns(general_row), model
    stored = Booking.objects.get(pk=fast.pk)
    challenge = PhoneChallenge.objects.get(pk=fast_challenge.pk)
    volunteer = Volunteer.objects.get(pk=fast.volunteer_id)
    # Proven at the moment of the check, with the same time on the challenge, booking and volunteer.
    assert challenge.verified_at == stored.proven_at == volunteer.phone_verified_at is not None
    assert stored.updated_at == stored.proven_at and volunteer.updated_at >= volunteer.phone_verified_at
    # The booking returned is the stored row, with its related rows, and serialises as the general path's does.
    assert _columns(fast) == _columns(stored) and fast.proven_at == stored.proven_at
    assert fast.volunteer.phone_verified_at == volunteer.phone_verified_at
    assert _anonymous(BookingSerializer(fast).data, fast) == _anonymous(BookingSerializer(general).data, general)
    assert BookingSerializer(fast).data["address"] == slot.session.meeting_point.address
    # Neither path writes an event or a text: the proof is not a booking change.
    assert BookingEvent.objects.filter(booking=fast).count() == BookingEvent.objects.filter(booking=general).count()
    assert SmsMessage.objects.filter(booking=fast).count() == SmsMessage.objects.filter(booking=general).count() == 0


@pytest.mark.django_db
def test_the_right_code_is_one_statement_after_the_challenge_is_read(slot):
    challenge = _ask(slot, PHONES[0])
    code = texted_code(challenge.token)
    with CaptureQueriesContext(connection) as captured:
        _verify(challenge, code)
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    # The proof and its receivers are one transaction (a savepoint inside the test's own; outside a test it is
    # BEGIN ... COMMIT, which Django does not log as queries).
    assert statements[1] == "SAVEPOINT" and statements[-1] == "RELEASE", statements
    statements = statements[:1] + statements[2:-1]
    # The challenge, the one-statement proof; then the receivers of booking_proven, in app order: the SMS
    # outbox's read of the host's choice (notify.sms.services.hosts.host_text_record; its INSERT runs only for a
    # host who chose texts: not here, so nothing is written; BENCHMARKS.md "Hand-written statements"), the webhook outbox's one
    # INSERT ... SELECT of a booking.proven delivery per endpoint that wants it (no endpoint here), and the email
    # channel's, which reads whether the host is emailed at each booking and writes the host's notice. Last, the
    # ledger's one count-and-record of the front room the answer shows, under the phone's lock the proof holds.
    assert statements == ["SELECT", "WITH", "SELECT", "INSERT", "SELECT", "INSERT", "WITH"], statements


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["fast", "general"])
def test_a_code_already_proven_by_the_link_keeps_its_first_proof(slot, monkeypatch, path):
    if path == "general":
        _general_path_only(monkeypatch)
    challenge = _ask(slot, PHONES[0])
    opened = identity.booking_prove_by_link(manage_token=challenge.booking.manage_token)
    before = Booking.objects.values("proven_at", "updated_at").get(pk=opened.pk)
    verified_before = Volunteer.objects.values("phone_verified_at", "updated_at").get()
    proven = _verify(challenge)
    assert Booking.objects.values("proven_at", "updated_at").get(pk=opened.pk) == before
    assert Volunteer.objects.values("phone_verified_at", "updated_at").get() == verified_before
    assert proven.proven_at == before["proven_at"]
    assert PhoneChallenge.objects.get().verified_at is not None


@pytest.mark.django_db
def test_refusals_are_the_same_on_both_paths(slot, monkeypatch):
    def refusals() -> list:
        seen = []
        used = _ask(slot, PHONES[0])
        _verify(used)
        seen.append(_refusal(lambda: _verify(used, f"{(int(texted_code(used.token)) + 1) % 1_000_000:06d}")))
        seen.append(_verify(used).pk == used.booking_id)  # the same code again answers again
        expired = _ask(slot, PHONES[1])
        PhoneChallenge.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        seen.append(_refusal(lambda: _verify(expired)))
        PhoneChallenge.objects.filter(pk=expired.pk).update(expires_at=timezone.now() + timedelta(minutes=5),
                                                            attempts=5)
        seen.append(_refusal(lambda: _verify(expired)))
        # A resend between the read and the claim: the code read was right, but it is no longer the current one.
        replaced = _ask(slot, "+447400000299")
        code = texted_code(replaced.token)
        real_read = verification.challenge_by_token

        def read_then_resend(token):
            read = real_read(token)
            PhoneChallenge.objects.filter(pk=read.pk).update(code_hash="0" * 64)
            return read

        monkeypatch.setattr(verification, "challenge_by_token", read_then_resend)
        seen.append(_refusal(lambda: _verify(replaced, code)))
        monkeypatch.setattr(verification, "challenge_by_token", real_read)
        seen.append(PhoneChallenge.objects.values_list("attempts", "verified_at").get(pk=replaced.pk))
        seen.append(Booking.objects.get(pk=replaced.booking_id).proven_at)
        seen.append(sorted(PhoneChallenge.objects.values_list("attempts", flat=True)))
        Booking.objects.all().delete()
        Volunteer.objects.all().delete()
        return seen

    fast = refusals()
    _general_path_only(monkeypatch)
    general = refusals()
    assert fast == general
    assert fast[1] is True
    del fast[1]
    assert [code for code, _ in fast[:4]] == ["code_used", "code_expired", "code_attempts", "code_wrong"]
    assert fast[4] == (1, None) and fast[5] is None  # the try is counted, nothing is proven


@pytest.mark.django_db
def test_a_known_phone_with_details_waiting_takes_the_general_path_and_gets_them(slot):
    first = book(slot, PHONES[0], name="Old Name", proven=True)
    other = SlotFactory(session=slot.session, starts_at=slot.ends_at, ends_at=slot.ends_at + timedelta(hours=1),
                        capacity=3, turf="")
    challenge = _ask(other, PHONES[0])
    assert challenge.pending_details and not code_check.fits(challenge)
    proven = _verify(challenge)
    assert proven.slot_id == other.pk and proven.proven_at is not None
    assert Volunteer.objects.get(pk=first.volunteer_id).name == "Aisha Khan"


@pytest.mark.django_db
def test_a_new_phone_with_an_email_takes_the_general_path_and_gets_it_with_the_code(slot):
    challenge = _ask(slot, PHONES[0], email="aisha@example.org")
    assert challenge.pending_details == {"email": "aisha@example.org", "consent_email": False}
    assert not code_check.fits(challenge) and Volunteer.objects.get().email == ""
    proven = _verify(challenge)
    assert proven.proven_at is not None and proven.volunteer.email == "aisha@example.org"
    assert Volunteer.objects.get().email == "aisha@example.org"


@pytest.mark.django_db(transaction=True)
def test_the_same_code_typed_twice_at_once_proves_once_and_answers_each(slot):
    from volunteers.events import booking_proven

    proofs = []
    booking_proven.connect(lambda **kwargs: proofs.append(kwargs["booking"].pk), weak=False,
                           dispatch_uid="test.proofs")
    try:
        challenge = _ask(slot, PHONES[0])
        code = texted_code(challenge.token)
        proven = []
        errors = run_together(*[lambda: proven.append(_verify(challenge, code)) for _ in range(4)])
    finally:
        booking_proven.disconnect(dispatch_uid="test.proofs")
    assert errors == [] and len(proven) == 4 and {booking.pk for booking in proven} == {challenge.booking_id}
    assert proofs == [challenge.booking_id]
    stored = PhoneChallenge.objects.get()
    assert stored.verified_at is not None and stored.attempts == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["fast", "general"])
def test_a_proof_whose_receivers_fail_is_not_kept_and_the_code_can_be_typed_again(slot, monkeypatch, path):
    # A process dying between the proof and what waits on it (email, webhook delivery, host's text) must not
    # leave a proven booking whose messages were never written: the proof and its receivers commit together.
    from volunteers import events

    if path == "general":
        _general_path_only(monkeypatch)
    challenge = _ask(slot, PHONES[0])
    code = texted_code(challenge.token)

    def dies(**kwargs):
        raise RuntimeError("the worker died here")

    events.booking_proven.connect(dies, sender=Booking, weak=False, dispatch_uid="test.dies")
    try:
        with pytest.raises(RuntimeError):
            _verify(challenge, code)
    finally:
        events.booking_proven.disconnect(sender=Booking, dispatch_uid="test.dies")
    stored = PhoneChallenge.objects.get(pk=challenge.pk)
    assert stored.verified_at is None and Booking.objects.get(pk=challenge.booking_id).proven_at is None
    seen = []
    events.booking_proven.connect(lambda **kwargs: seen.append(kwargs["booking"].pk), sender=Booking, weak=False,
                                  dispatch_uid="test.sees")
    try:
        booking = _verify(challenge, code)
    finally:
        events.booking_proven.disconnect(sender=Booking, dispatch_uid="test.sees")
    assert booking.proven_at is not None and seen == [booking.pk]
