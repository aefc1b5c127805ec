"""Sets of slots booked at the same instant from many threads (PostgreSQL): all or nothing, never overbooked, and
no deadlock whatever order the sets name their slots in."""

from datetime import timedelta

import pytest

from core.errors import Conflict
from sessions.models import Slot
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, next_mobile
from tests.threads import run_together
from volunteers.booking_sets import bookings_request
from volunteers.models import Booking

THREADS = 12


@pytest.mark.django_db(transaction=True)
def test_sets_racing_for_the_last_places_are_all_or_nothing(settings):
    settings.RATE_LIMITS_ENABLED = False  # about locking, not abuse
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    first = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat), capacity=5)
    second = SlotFactory(session=first.session, starts_at=first.ends_at,
                         ends_at=first.ends_at + timedelta(hours=1), capacity=3)
    done, refused = [], []

    def ask(phone, order):
        try:
            done.append(bookings_request(slot_ids=order, name="V", phone=phone, postcode="S10 1AA",
                                         consent_sms=True, client_ip="203.0.113.9"))
        except Conflict as exc:
            refused.append(exc.code)

    orders = [[first.pk, second.pk], [second.pk, first.pk]]
    phones = [next_mobile() for _ in range(THREADS)]
    errors = run_together(*[lambda phone=phone, order=orders[i % 2]: ask(phone, order)
                            for i, phone in enumerate(phones)], timeout=None)
    assert errors == []
    assert len(done) == 3 and refused == ["slot_full"] * (THREADS - 3)
    # Each set that won holds both its places; no set holds one without the other.
    for slot, capacity in ((first, 3), (second, 3)):
        assert Booking.objects.filter(slot=slot, status="confirmed").count() == capacity
        assert Slot.objects.get(pk=slot.pk).confirmed_count == capacity
    assert not Booking.objects.filter(status="waitlisted").exists()
    assert set(Booking.objects.filter(slot=first).values_list("volunteer_id", flat=True)) == set(
        Booking.objects.filter(slot=second).values_list("volunteer_id", flat=True))
