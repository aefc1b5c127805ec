"""Two overflow runs and a stream of hand bookings at once, with real threads on PostgreSQL."""


import pytest

from dispatch.models import OverflowMove
from dispatch.services.overflow import overflow_run, source_slots_resolve
from sessions.models import Slot
from tests.dispatch import factories as f
from tests.factories import booking_ask
from tests.threads import run_together
from volunteers.models import Booking


@pytest.mark.django_db(transaction=True)
def test_concurrent_overflow_runs_and_hand_bookings_never_overbook_or_move_anyone_twice(settings):
    settings.OVERFLOW_AUTO = False  # only the two runs below move people
    full = f.seat("E14000301", lat=53.37, lng=-1.55, priority=2)
    n1 = f.seat("E14000302", lat=53.37, lng=-1.51, priority=1)
    n2 = f.seat("E14000303", lat=53.40, lng=-1.55, priority=3)
    f.adjacent(full, n1)
    f.adjacent(full, n2)
    f.postcode("S10 1AA", lat=53.38, lng=-1.52, seat_code=n1.pk)
    source = f.session(full, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    targets = [f.session(seat, slots=[(f.day_at(10), f.day_at(12), 10)]).slots.get() for seat in (n1, n2)]
    f.fill(source, near=full)
    waiting = [f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None), source) for _ in range(40)]
    assert all(b.status == Booking.Status.WAITLISTED for b in waiting)


    def overflow():
        slots, seats = source_slots_resolve(seat_code=full.pk)
        overflow_run(source_slots=slots, source_seats=seats)

    def hand_bookings(offset):
        for i in range(15):
            booking_ask(slot_id=targets[i % 2].pk, name=f"Hand {offset + i}", phone=f"+4474009{offset + i:05d}",
                           postcode="S10 1AA")

    errors = run_together(overflow, overflow, lambda: hand_bookings(0), lambda: hand_bookings(100))
    assert not errors, errors

    for slot in Slot.objects.filter(pk__in=[source.pk] + [t.pk for t in targets]):
        confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()
        assert slot.confirmed_count == confirmed <= slot.capacity
    assert sum(Slot.objects.get(pk=t.pk).confirmed_count for t in targets) == 20  # demand exceeded supply
    moves = list(OverflowMove.objects.all())
    assert len({m.from_booking_id for m in moves}) == len(moves) == len({m.volunteer_id for m in moves})
    redirected = Booking.objects.filter(slot=source, status=Booking.Status.REDIRECTED)
    assert redirected.count() == len(moves)
    for booking in redirected.select_related("redirected_to"):
        assert booking.redirected_to.status == Booking.Status.CONFIRMED
        assert Booking.objects.filter(volunteer=booking.volunteer, status=Booking.Status.CONFIRMED).count() == 1
    assert Booking.objects.filter(slot=source, status=Booking.Status.WAITLISTED).count() == 40 - len(moves)
