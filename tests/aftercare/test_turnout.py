"""Learned turnout (volunteers.turnout): the prior with no history, shrinkage towards it, the floor, new and
returning volunteers, and over-booking by the expected no-shows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound
from dispatch.services.turnout import seat_overbook_change
from seats.scopes import SeatScope
from sessions.models import Slot
from tests.aftercare.helpers import booked_slot, slot_move
from tests.factories import FeedbackFactory, UserFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers import turnout
from volunteers.models import Booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def prior(settings):
    settings.TURNOUT_PRIOR, settings.TURNOUT_PRIOR_WEIGHT, settings.TURNOUT_FLOOR = 0.8, 10.0, 0.5
    return settings


def _history(*, came: int, missed: int, starts_at, people_prefix="H"):
    """One past slot at `starts_at` with `came` attended and `missed` no-show bookings (new volunteers)."""
    slot, bookings = booked_slot(people=came + missed, starts_at=starts_at)
    for index, booking in enumerate(bookings):
        Booking.objects.filter(pk=booking.pk).update(
            status=Booking.Status.ATTENDED if index < came else Booking.Status.NO_SHOW)
    return slot, bookings


def test_with_no_history_a_slot_expects_the_prior_share_of_its_proven_places(prior):
    slot, _ = booked_slot(people=8)
    guess = turnout.expected_turnout(slot_ids=[slot.pk])[slot.pk]
    assert (guess.booked, guess.expected) == (8, round(8 * 0.8))


def test_history_is_shrunk_towards_the_prior_by_its_weight(prior):
    # Last week, same weekday and hour: 5 of 10 came. Seat and nation: the same 10 bookings.
    upcoming, _ = booked_slot(people=4)
    _history(came=5, missed=5, starts_at=upcoming.starts_at - timedelta(days=7))
    national = (5 + 10 * 0.8) / (10 + 10)
    seat = (5 + 10 * national) / (10 + 10)
    bucket = (5 + 10 * seat) / (10 + 10)
    guess = turnout.expected_turnout(slot_ids=[upcoming.pk])[upcoming.pk]
    assert guess.rate == pytest.approx(bucket)
    assert guess.expected == round(4 * bucket)


def test_the_rate_never_falls_below_the_floor(prior):
    prior.TURNOUT_PRIOR_WEIGHT = 1.0
    upcoming, _ = booked_slot(people=10)
    _history(came=0, missed=20, starts_at=upcoming.starts_at - timedelta(days=7))
    guess = turnout.expected_turnout(slot_ids=[upcoming.pk])[upcoming.pk]
    assert guess.rate == 0.5 and guess.expected == 5


def test_returning_volunteers_are_counted_apart_from_new_ones(prior):
    prior.TURNOUT_PRIOR_WEIGHT = 1.0
    upcoming = slot_make()
    first = upcoming.starts_at - timedelta(days=14)
    # Six volunteers came once, two weeks ago: all new then. A week ago the same six came back (returning) and
    # six new ones did not come.
    _, regulars = _history(came=6, missed=0, starts_at=first)
    week_ago = slot_make()
    for booking in regulars:
        booking_make(slot=week_ago, volunteer=booking.volunteer)
    newcomers = [booking_make(slot=week_ago, volunteer=volunteer_make()) for _ in range(6)]
    slot_move(week_ago, starts_at=upcoming.starts_at - timedelta(days=7))
    Booking.objects.filter(slot=week_ago, volunteer__in=[b.volunteer for b in regulars]).update(
        status=Booking.Status.ATTENDED)
    Booking.objects.filter(pk__in=[b.pk for b in newcomers]).update(status=Booking.Status.NO_SHOW)
    booking_make(slot=upcoming, volunteer=regulars[0].volunteer)
    booking_make(slot=upcoming, volunteer=volunteer_make())
    rates = turnout.turnout_rates(seat_ids=[upcoming.session.seat_id])
    start = timezone.localtime(upcoming.starts_at)
    returning = rates.rate(seat=upcoming.session.seat_id, weekday=start.isoweekday(), hour=start.hour,
                           returning=True)
    new = rates.rate(seat=upcoming.session.seat_id, weekday=start.isoweekday(), hour=start.hour, returning=False)
    assert returning > 0.9 and new < 0.6
    assert turnout.expected_turnout(slot_ids=[upcoming.pk])[upcoming.pk].rate == pytest.approx((returning + new) / 2)


def test_a_volunteer_who_said_they_went_counts_as_came_and_unknown_outcomes_are_left_out(prior):
    prior.TURNOUT_PRIOR_WEIGHT = 1.0
    upcoming, _ = booked_slot(people=1)
    slot, bookings = booked_slot(people=3, starts_at=upcoming.starts_at - timedelta(days=7))
    FeedbackFactory(booking=bookings[0], went=True)
    FeedbackFactory(booking=bookings[1], went=False)  # the third: no word, not counted
    rates = turnout.turnout_rates(seat_ids=[slot.session.seat_id])
    assert rates.national == {False: (2, 1)}


def test_over_booking_is_off_by_default_and_raises_bookable_places_when_a_coordinator_allows_it(prior):
    upcoming, _ = booked_slot(people=0, capacity=8)
    coordinator = UserFactory(username="coord", is_staff=True, email="", standing=False)
    turnout.slots_overbook_refresh()
    upcoming.refresh_from_db()
    assert upcoming.overbook == 0
    seat_overbook_change(actor=coordinator, ons_code=upcoming.session.seat_id, allowed=True)
    upcoming.refresh_from_db()
    # Rate 0.8 (the prior): 8 / 0.8 - 8 = 2 extra places, within the cap of a quarter of 8.
    assert upcoming.overbook == 2 and upcoming.places_left == 10
    for _ in range(10):
        booking_make(slot=upcoming, volunteer=volunteer_make())
    upcoming.refresh_from_db()
    assert upcoming.confirmed_count == 10
    eleventh = booking_make(slot=upcoming, volunteer=volunteer_make())
    assert eleventh.status == Booking.Status.WAITLISTED
    # Switched off: no more over-booking, but the places already confirmed stand (the database would refuse less).
    seat_overbook_change(actor=coordinator, ons_code=upcoming.session.seat_id, allowed=False)
    upcoming.refresh_from_db()
    assert upcoming.overbook == 2
    Slot.objects.filter(pk=upcoming.pk).update(confirmed_count=8)
    turnout.slots_overbook_refresh()
    upcoming.refresh_from_db()
    assert upcoming.overbook == 0


def test_over_booking_is_capped_and_outside_an_organisers_seats_is_not_found(prior):
    assert turnout.overbook_places(capacity=8, rate=0.5) == 2  # 8 more by the rate, capped at a quarter
    assert turnout.overbook_places(capacity=8, rate=1.0) == 0
    slot, _ = booked_slot(people=0)
    with pytest.raises(NotFound):
        seat_overbook_change(actor=None, ons_code=slot.session.seat_id, allowed=True,
                             scope=SeatScope(national=False, seat_codes=frozenset({"E00000000"})))
    assert not turnout.seat_overbook_allowed(slot.session.seat_id)


def test_the_dashboard_shortfall_counts_the_expected_turnout_not_the_bookings(prior):
    from datetime import datetime

    from dispatch.services.coverage import coverage_by_seat
    from seats.models import Seat

    slot, _ = booked_slot(people=10, capacity=10)
    Seat.objects.filter(pk=slot.session.seat_id).update(need_per_day=10)
    day = timezone.localtime(slot.starts_at).date()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    row = next(r for r in coverage_by_seat(date_from=start, date_to=start + timedelta(days=1))
               if r["seat"] == slot.session.seat_id)
    assert row["proven"] == 10 and row["expected"] == 8 and row["shortfall"] == row["need"] - 8
