"""booking_swap: another slot in one step, all or nothing, never overbooking (real PostgreSQL, real threads)."""

from datetime import timedelta

import pytest
from django.db import connection

from core.errors import Conflict, InvalidInput, InvalidState, NotFound
from notify.sms.models import SmsMessage
from sessions.models import Slot
from sessions.services import session_cancel
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
from tests.factories import book as book_slot
from tests.threads import run_together
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_approve, booking_swap


@pytest.fixture
def room(db):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    return MeetingPointFactory(seat=seat, postcode="S10 1AA", capacity=40)


def two_slots(room, *, capacity=3, other_capacity=3, **session):
    first = SlotFactory(session__meeting_point=room, capacity=capacity, **{f"session__{k}": v for k, v in session.items()})
    second = SlotFactory(session=first.session, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=2),
                         capacity=other_capacity)
    return first, second


def book(slot, n: int) -> Booking:
    return book_slot(slot, f"07400 3000{n:02d}", name=f"V{n}", proven=True)


def counts(*slots) -> list[int]:
    return [Slot.objects.get(pk=slot.pk).confirmed_count for slot in slots]


@pytest.mark.django_db
def test_swap_takes_the_new_place_and_gives_the_old_one_back(room):
    first, second = two_slots(room)
    old = book(first, 1)
    new = booking_swap(manage_token=old.manage_token, slot_id=second.pk)
    old.refresh_from_db()
    assert (new.slot_id, new.status) == (second.pk, Booking.Status.CONFIRMED) and new.proven_at is not None
    assert old.status == Booking.Status.CANCELLED
    assert counts(first, second) == [0, 1]
    # One text: the new booking's (with its own link); the old one's cancellation is not texted.
    assert list(SmsMessage.objects.filter(volunteer=old.volunteer, kind__startswith="booking")
                .values_list("booking_id", "kind")) == [(new.pk, "booking_confirmed")]


@pytest.mark.django_db
def test_repeating_a_swap_returns_the_booking_it_made(room):
    first, second = two_slots(room)
    old = book(first, 1)
    new = booking_swap(manage_token=old.manage_token, slot_id=second.pk)
    assert booking_swap(manage_token=old.manage_token, slot_id=second.pk).pk == new.pk
    assert counts(first, second) == [0, 1]
    assert Booking.objects.filter(volunteer=old.volunteer).count() == 2


@pytest.mark.django_db
def test_a_full_slot_refuses_the_swap_and_the_volunteer_keeps_their_place(room):
    first, second = two_slots(room, other_capacity=1)
    book(second, 9)
    old = book(first, 1)
    with pytest.raises(Conflict) as refused:
        booking_swap(manage_token=old.manage_token, slot_id=second.pk)
    assert refused.value.code == "slot_full" and "slot" in refused.value.fields
    old.refresh_from_db()
    assert old.status == Booking.Status.CONFIRMED and counts(first, second) == [1, 1]
    assert not Booking.objects.filter(volunteer=old.volunteer, slot=second).exists()
    assert not BookingEvent.objects.filter(booking=old, kind=BookingEvent.Kind.CANCELLED).exists()


@pytest.mark.django_db
def test_a_full_slot_waitlists_when_asked_and_the_old_place_goes_to_its_waitlist(room,
                                                                                  django_capture_on_commit_callbacks):
    first, second = two_slots(room, capacity=1, other_capacity=1)
    book(second, 9)
    old = book(first, 1)
    waiting = book(first, 2)
    assert waiting.status == Booking.Status.WAITLISTED
    new = booking_swap(manage_token=old.manage_token, slot_id=second.pk, waitlist_when_full=True)
    assert new.status == Booking.Status.WAITLISTED
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.CONFIRMED  # promoted in the same transaction
    assert counts(first, second) == [1, 1]


@pytest.mark.django_db
def test_what_cannot_be_swapped_changes_nothing(room):
    first, second = two_slots(room)
    old = book(first, 1)
    with pytest.raises(InvalidInput) as same:
        booking_swap(manage_token=old.manage_token, slot_id=first.pk)
    assert same.value.code == "same_slot"
    with pytest.raises(NotFound):
        booking_swap(manage_token=old.manage_token, slot_id=99999999999999999999)
    with pytest.raises(NotFound):
        booking_swap(manage_token="not-a-real-link", slot_id=second.pk)
    started = SlotFactory(session=first.session, starts_at=first.starts_at - timedelta(days=2),
                          ends_at=first.starts_at - timedelta(days=2) + timedelta(hours=1))
    with pytest.raises(InvalidState):
        booking_swap(manage_token=old.manage_token, slot_id=started.pk)
    other_session = SlotFactory(session__meeting_point=room)
    session_cancel(user=room.host, session_id=other_session.session_id)
    with pytest.raises(InvalidState):
        booking_swap(manage_token=old.manage_token, slot_id=other_session.pk)
    old.refresh_from_db()
    assert old.status == Booking.Status.CONFIRMED and counts(first, second) == [1, 0]


@pytest.mark.django_db
def test_a_cancelled_booking_cannot_be_moved(room):
    first, second = two_slots(room)
    old = book(first, 1)
    from volunteers.services import booking_cancel

    booking_cancel(manage_token=old.manage_token)
    with pytest.raises(InvalidState) as refused:
        booking_swap(manage_token=old.manage_token, slot_id=second.pk)
    assert refused.value.code == "not_swappable" and counts(first, second) == [0, 0]


@pytest.mark.django_db
def test_a_slot_already_held_is_a_conflict(room):
    first, second = two_slots(room)
    old = book(first, 1)
    third = SlotFactory(session=first.session, starts_at=second.ends_at, ends_at=second.ends_at + timedelta(hours=1))
    book_slot(third, "07400 300001", name="V1", proven=True)  # the same phone on a third slot
    with pytest.raises(Conflict) as refused:
        booking_swap(manage_token=old.manage_token, slot_id=third.pk)
    assert refused.value.code == "already_booked"
    old.refresh_from_db()
    assert old.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
def test_the_hosts_approval_carries_to_another_slot_of_the_same_session(room):
    first, second = two_slots(room, requires_approval=True)
    old = book(first, 1)
    booking_approve(user=room.host, session_id=first.session_id, booking_id=old.pk)
    new = booking_swap(manage_token=old.manage_token, slot_id=second.pk)
    assert new.approval == Booking.Approval.APPROVED
    elsewhere = SlotFactory(session__meeting_point=room, session__requires_approval=True,
                            starts_at=second.ends_at + timedelta(days=1),
                            ends_at=second.ends_at + timedelta(days=1, hours=2))
    assert booking_swap(manage_token=new.manage_token, slot_id=elsewhere.pk).approval == Booking.Approval.PENDING


@pytest.mark.django_db(transaction=True)
def test_concurrent_swaps_into_a_slot_never_overbook_it(settings):
    """Twelve volunteers, each on their own slot, swap into one three-place slot at the same instant: three move,
    nine keep the place they had; no slot is overbooked and nobody is left with neither."""
    settings.RATE_LIMITS_ENABLED = False
    assert connection.vendor == "postgresql"
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    room = MeetingPointFactory(seat=seat, postcode="S10 1AA", capacity=40)
    target = SlotFactory(session__meeting_point=room, capacity=3)
    olds = []
    for n in range(12):
        slot = SlotFactory(session=target.session, starts_at=target.ends_at + timedelta(hours=n),
                           ends_at=target.ends_at + timedelta(hours=n, minutes=50), capacity=2)
        olds.append(book(slot, n))
    moved = []

    def swap(token):
        try:
            moved.append(booking_swap(manage_token=token, slot_id=target.pk))
        except Conflict as refused:
            assert refused.code == "slot_full"

    errors = run_together(*[lambda token=old.manage_token: swap(token) for old in olds])
    assert errors == []
    assert len(moved) == 3 and Slot.objects.get(pk=target.pk).confirmed_count == 3
    assert Booking.objects.filter(slot=target, status=Booking.Status.CONFIRMED).count() == 3
    for old in olds:
        active = Booking.objects.filter(volunteer_id=old.volunteer_id, status=Booking.Status.CONFIRMED)
        assert active.count() == 1  # the new place or the old one, never neither, never both
        assert Slot.objects.get(pk=old.slot_id).confirmed_count == (0 if active.get().slot_id == target.pk else 1)


@pytest.mark.django_db(transaction=True)
def test_two_volunteers_swapping_each_others_way_do_not_deadlock(settings):
    settings.RATE_LIMITS_ENABLED = False
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    room = MeetingPointFactory(seat=seat, postcode="S10 1AA", capacity=40)
    first, second = two_slots(room, capacity=5, other_capacity=5)
    pairs = [(book(first, n), second) for n in range(4)] + [(book(second, n + 10), first) for n in range(4)]
    errors = run_together(*[lambda b=b, s=s: booking_swap(manage_token=b.manage_token, slot_id=s.pk)
                            for b, s in pairs])
    assert [e for e in errors if not (isinstance(e, Conflict) and e.code == "slot_full")] == []
    assert all(count <= 5 for count in counts(first, second))
    for booking, _ in pairs:
        assert Booking.objects.filter(volunteer_id=booking.volunteer_id, status=Booking.Status.CONFIRMED).count() == 1
