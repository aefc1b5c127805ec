"""Holds that cannot freeze a weekend: a booking request's unproven place is held only while its code works, a
lapsed hold is free at once, and a proven volunteer always gets a place held only by unproven requests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import book, booking_ask, next_mobile, texted_code
from volunteers import identity
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel, booking_waitlist_promote, bookings_release_unproven

pytestmark = pytest.mark.django_db


class Clock:
    """timezone.now, pinned and moved forward by the test (no sleeping)."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def forward(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def small_slot(slot):
    Slot.objects.filter(pk=slot.pk).update(capacity=1, starts_at=timezone.now() + timedelta(days=3),
                                           ends_at=timezone.now() + timedelta(days=3, hours=2))
    slot.refresh_from_db()
    return slot


def _ask(slot, phone=None):
    return booking_ask(slot_id=slot.pk, name="Ann", phone=phone or next_mobile(),
                       postcode=slot.session.meeting_point.postcode)


def _status(booking) -> str:
    return Booking.objects.get(pk=booking.pk).status


def test_an_unproven_place_is_held_as_long_as_its_code_works(small_slot, clock, settings):
    asked = _ask(small_slot)
    booking = asked.booking
    assert booking.held_until == asked.expires_at == clock.now + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES)
    clock.forward(settings.PHONE_CODE_TTL_MINUTES - 1)
    assert bookings_release_unproven() == 0
    clock.forward(2)
    assert bookings_release_unproven() == 1
    assert bookings_release_unproven() == 0  # run twice, one effect
    assert _status(booking) == "cancelled"
    assert BookingEvent.objects.filter(booking=booking, kind="booking_released").count() == 1
    assert Slot.objects.get(pk=small_slot.pk).confirmed_count == 0


def test_a_lapsed_hold_is_free_at_once_without_waiting_for_the_sweep(small_slot, clock, settings):
    squatter = _ask(small_slot).booking
    assert _ask(small_slot).booking.status == "waitlisted"  # held: the code still works
    clock.forward(settings.UNPROVEN_HOLD_MAX_MINUTES + 1)  # both holds lapsed; the sweep has not run
    newcomer = _ask(small_slot).booking
    assert newcomer.status == "confirmed"
    assert _status(squatter) == "cancelled"
    assert Slot.objects.get(pk=small_slot.pk).confirmed_count == 1
    assert Booking.objects.filter(slot=small_slot, status="confirmed").count() == 1


def test_the_sweep_promotes_the_waitlist_once_a_hold_lapses(small_slot, clock, django_capture_on_commit_callbacks):
    squatter = _ask(small_slot).booking
    clock.forward(5)
    waiting = _ask(small_slot).booking
    assert waiting.status == "waitlisted"
    clock.forward(11)  # the squatter's code (15 minutes) is dead, the waiter's still works
    with django_capture_on_commit_callbacks(execute=True):
        assert bookings_release_unproven() == 1
    assert (_status(squatter), _status(waiting)) == ("cancelled", "confirmed")
    assert Slot.objects.get(pk=small_slot.pk).confirmed_count == 1


def test_a_new_code_extends_the_hold_but_never_past_the_cap(small_slot, clock, settings):
    settings.UNPROVEN_HOLD_MINUTES, settings.UNPROVEN_HOLD_MAX_MINUTES = 15, 30
    asked = _ask(small_slot)
    start = clock.now
    for minutes, until in ((10, 25), (14, 30), (5, 30)):
        clock.forward(minutes)
        identity.challenge_resend(challenge_token=asked.token, client_ip="198.51.100.9")
        assert Booking.objects.get(pk=asked.booking_id).held_until == start + timedelta(minutes=until)
    _ask(small_slot, phone=asked.phone)  # asking again is a new code too: still capped
    assert Booking.objects.get(pk=asked.booking_id).held_until == start + timedelta(minutes=30)
    clock.forward(2)  # 31 minutes in
    assert bookings_release_unproven() == 1


def test_proving_a_waitlisted_booking_takes_the_newest_unproven_place(slot, clock):
    Slot.objects.filter(pk=slot.pk).update(capacity=2)
    older = _ask(slot).booking
    clock.forward(1)
    newer = _ask(slot).booking
    clock.forward(1)
    asked = _ask(slot)
    assert asked.booking.status == "waitlisted"
    proven = identity.challenge_verify(challenge_token=asked.token, code=texted_code(asked.token),
                                       client_ip="198.51.100.9")
    assert proven.status == "confirmed" and proven.proven_at is not None
    assert (_status(older), _status(newer)) == ("confirmed", "waitlisted")
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 2
    # The newest request goes back to waiting quietly (its phone was never proven); the proven one is told.
    assert not SmsMessage.objects.filter(booking=newer, kind="booking_waitlisted").exists()
    assert SmsMessage.objects.filter(booking=proven, kind="booking_promoted").count() == 1


def test_proving_by_the_link_takes_a_place_held_unproven_too(small_slot):
    squatter = _ask(small_slot).booking
    waiting = _ask(small_slot).booking
    assert identity.booking_prove_by_link(manage_token=waiting.manage_token).status == "confirmed"
    assert _status(squatter) == "waitlisted"
    # The squatter, proven in turn, finds every place proven and keeps waiting; nothing ever overbooks.
    assert identity.booking_prove_by_link(manage_token=squatter.manage_token).status == "waitlisted"
    assert Slot.objects.get(pk=small_slot.pk).confirmed_count == 1


def test_a_proven_waiter_is_promoted_before_an_earlier_unproven_one(small_slot, clock):
    holder = book(small_slot, proven=True)
    unproven = _ask(small_slot).booking
    clock.forward(1)
    proven = book(small_slot, proven=True)
    assert (unproven.status, proven.status) == ("waitlisted", "waitlisted")
    booking_cancel(manage_token=holder.manage_token)
    booking_waitlist_promote(slot_id=small_slot.pk)
    assert (_status(proven), _status(unproven)) == ("confirmed", "waitlisted")


def test_a_code_typed_after_its_released_hold_asks_again_place_if_free_else_waitlist(small_slot, clock, settings):
    asked = _ask(small_slot)
    clock.forward(settings.UNPROVEN_HOLD_MAX_MINUTES + 1)
    assert bookings_release_unproven() == 1
    identity.challenge_resend(challenge_token=asked.token, client_ip="198.51.100.9")  # a fresh code, no hold
    assert Booking.objects.get(pk=asked.booking_id).status == "cancelled"
    proven = identity.challenge_verify(challenge_token=asked.token, code=texted_code(asked.token),
                                       client_ip="198.51.100.9")
    assert proven.status == "confirmed" and proven.proven_at is not None  # the place was free: theirs again

    other = _ask(small_slot)
    clock.forward(settings.UNPROVEN_HOLD_MAX_MINUTES + 1)
    bookings_release_unproven()
    identity.challenge_resend(challenge_token=other.token, client_ip="198.51.100.9")
    again = identity.challenge_verify(challenge_token=other.token, code=texted_code(other.token),
                                      client_ip="198.51.100.9")
    assert again.status == "waitlisted"  # the place is a proven volunteer's now: the waitlist
    assert Slot.objects.get(pk=small_slot.pk).confirmed_count == 1


# --- A proven volunteer racing unproven requests (real threads against PostgreSQL) ---------------------------


@pytest.mark.django_db(transaction=True)
def test_a_proven_volunteer_racing_twenty_unproven_requests_gets_a_place_and_nothing_overbooks(settings):
    from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
    from tests.threads import run_together
    from volunteers.services import booking_swap

    settings.RATE_LIMITS_ENABLED = False  # about locking, not abuse
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    target = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, postcode="S10 1AA"), capacity=5)
    other = SlotFactory(session=target.session, starts_at=target.ends_at, ends_at=target.ends_at + timedelta(hours=1))
    for _ in range(3):
        book(target, proven=True)  # three places proven: two left
    mover = book(other, proven=True)
    moved = []

    def move():
        moved.append(booking_swap(manage_token=mover.manage_token, slot_id=target.pk, waitlist_when_full=True))

    def request():
        booking_ask(slot_id=target.pk, name="Flood", phone=next_mobile(), postcode="S10 1AA")

    assert run_together(move, *[request] * 20) == []
    assert moved[0].status == "confirmed"
    slot = Slot.objects.get(pk=target.pk)
    confirmed = Booking.objects.filter(slot=target, status="confirmed")
    assert slot.confirmed_count == confirmed.count() == 5
    assert confirmed.filter(proven_at__isnull=False).count() == 4
    assert Booking.objects.filter(slot=target, status="waitlisted").count() == 19
