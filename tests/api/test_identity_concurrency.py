"""Real concurrency against PostgreSQL: an attacker and the real holder act on the same phone at the same instant.
They must never merge (one volunteer with the attacker's details) nor steal (the attacker holding a booking)."""

from datetime import timedelta

import pytest

from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, book, texted_code
from tests.threads import run_together
from volunteers import identity
from volunteers.models import Booking, PhoneChallenge, Volunteer

PHONE = "+447400777123"


@pytest.mark.django_db(transaction=True)
def test_an_attacker_and_the_holder_on_one_phone_at_once_never_merge_or_steal(settings):
    settings.RATE_LIMITS_ENABLED = False  # about locking, not limits: both sides ask many times
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    room = MeetingPointFactory(seat=seat)
    held = SlotFactory(session__meeting_point=room, capacity=20)
    wanted = SlotFactory(session__meeting_point=room, capacity=20, starts_at=held.ends_at,
                         ends_at=held.ends_at + timedelta(hours=2))
    overlapping = SlotFactory(session__meeting_point=room, capacity=20, starts_at=held.starts_at, ends_at=held.ends_at)
    mine = book(held, PHONE, name="Holly Holder", email="holly@example.org", proven=True)
    before = Volunteer.objects.values("name", "email", "consent_sms", "postcode").get()
    holder_challenges: list[PhoneChallenge] = []
    attacker_challenges: list[PhoneChallenge] = []

    def attacker(slot):
        challenge = identity.booking_request(slot_id=slot.id, name="Mallory", phone=PHONE, postcode="S10 1AA",
                                             email="mallory@example.org", consent_sms=False, client_ip="203.0.113.66")
        attacker_challenges.append(challenge)
        # A guess at the code, as fast as the holder types theirs.
        try:
            identity.challenge_verify(challenge_token=challenge.token, code="000000", client_ip="203.0.113.66")
        except Exception:  # noqa: BLE001 - a wrong code (or, one in a million, the right one: checked below)
            pass

    def holder(slot):
        challenge = identity.booking_request(slot_id=slot.id, name="Holly Holder", phone=PHONE, postcode="S10 1AA",
                                             email="holly@example.org", consent_sms=True, client_ip="198.51.100.10")
        holder_challenges.append(challenge)
        identity.challenge_verify(challenge_token=challenge.token, code=texted_code(challenge.token),
                                  client_ip="198.51.100.10")

    jobs = [lambda s=slot: attacker(s) for slot in (held, wanted, overlapping) * 4]
    jobs += [lambda s=slot: holder(s) for slot in (wanted, held)]
    errors = run_together(*jobs, timeout=None)
    assert errors == []

    assert Volunteer.objects.count() == 1  # never two people on one number
    assert Volunteer.objects.values("name", "email", "consent_sms", "postcode").get() == before  # never Mallory's
    bookings = Booking.objects.all()
    assert sorted(b.slot_id for b in bookings) == sorted([held.pk, wanted.pk, overlapping.pk])  # one per slot
    decoy = Booking.objects.get(slot=overlapping)  # held like any request, unproven, and only "Mallory" to its host
    assert decoy.proven_at is None and decoy.said_name == "Mallory"
    assert Booking.objects.get(pk=mine.pk).status == "confirmed"
    # Whatever the attacker's request held is the holder's booking, and only the holder's code proved it.
    assert all(c.verified_at is None for c in PhoneChallenge.objects.filter(
        token__in=[a.token for a in attacker_challenges]) if texted_code(c.token) != "000000")
    assert all(c.verified_at is not None for c in PhoneChallenge.objects.filter(
        token__in=[h.token for h in holder_challenges]))
    assert Booking.objects.get(slot=wanted).proven_at is not None
    assert all(b.volunteer_id == mine.volunteer_id for b in bookings)
