"""Property-based: no sequence of party bookings, shrinks, cancels, promotions, redirects and assignment commits
breaks the places' invariants.

A hypothesis RuleBasedStateMachine drives the real services on PostgreSQL over three slots: two in one session
(the first of them full soonest) and one at the same time in the neighbouring seat, where overflow sends people.
Parties of 1 to PARTY_MAX ask through the phone proof, are proven or not, shrink, cancel, lapse, are promoted and
redirected; an assignment run places individuals. After every step: each slot's counter is the sum of its confirmed
parties' sizes and never over capacity; a party is one booking row, whole (a redirect moves it with the same size);
and a promotion leaves no eligible waiter that would fit in the places still free. Each example runs in a
savepoint rolled back at its end.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.errors import DomainError
from dispatch.models import AssignmentRun, ProposedAssignment
from dispatch.services.assignment import run_commit_execute
from dispatch.services.overflow import overflow_for_slot
from sessions.models import Slot
from tests.factories import (
    CanvassSessionFactory,
    MeetingPointFactory,
    PostcodeFactory,
    SlotFactory,
    UserFactory,
    booking_ask,
    seat_with_neighbour,
)
from volunteers import identity, services
from volunteers.models import Booking, Volunteer
from volunteers.services.common import hold_lapsed, overlapping_confirmed

PHONES = [f"+4474019{n:05d}" for n in range(6)]


class PartyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        seat, neighbour = seat_with_neighbour()
        PostcodeFactory(postcode="S10 1AA", seat=seat)
        self.host = UserFactory(username="party-machine-host")
        start = timezone.now() + timedelta(days=3)
        room = MeetingPointFactory(host=self.host, seat=seat, postcode="S10 1AA")
        session = CanvassSessionFactory(meeting_point=room, starts_at=start)
        self.slots = [
            SlotFactory(session=session, capacity=5),
            SlotFactory(session=session, capacity=3, starts_at=start + timedelta(hours=3),
                        ends_at=start + timedelta(hours=5)),
            SlotFactory(session__meeting_point=MeetingPointFactory(host=self.host, seat=neighbour, lat=53.40,
                                                                   lng=-1.45),
                        session__starts_at=start, capacity=4),  # at the same time: somewhere to overflow to
        ]

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    def _bookings(self, *statuses):
        query = Booking.objects.filter(slot__in=self.slots)
        return list((query.filter(status__in=statuses) if statuses else query).order_by("id"))

    def _attempt(self, call, *args, **kwargs):
        """A refusal (full, overlapping, too big, ...) is a domain error, never anything else."""
        try:
            with transaction.atomic():
                return call(*args, **kwargs)
        except DomainError:
            return None

    @rule(phone=st.sampled_from(PHONES), slot=st.integers(0, 2), size=st.integers(1, 6), prove=st.booleans())
    def book(self, phone, slot, size, prove):
        asked = self._attempt(booking_ask, slot_id=self.slots[slot].id, name="Vol", phone=phone,
                              postcode="S10 1AA", party_size=size, party_names=["Ann", "Bob"][:size - 1])
        if asked is not None and prove:
            self._attempt(identity.booking_prove_by_link, manage_token=asked.booking.manage_token)

    @precondition(lambda self: any(b.party_size > 1 for b in self._bookings(*services.ACTIVE_STATUSES)))
    @rule(data=st.data())
    def shrink(self, data):
        booking = data.draw(st.sampled_from([b for b in self._bookings(*services.ACTIVE_STATUSES)
                                             if b.party_size > 1]))
        size = data.draw(st.integers(1, booking.party_size - 1))
        self._attempt(services.booking_party_shrink, manage_token=booking.manage_token, party_size=size)
        assert Booking.objects.get(pk=booking.pk).party_size == size

    @precondition(lambda self: self._bookings(*services.ACTIVE_STATUSES))
    @rule(data=st.data())
    def cancel(self, data):
        booking = data.draw(st.sampled_from(self._bookings(*services.ACTIVE_STATUSES)))
        self._attempt(services.booking_cancel, manage_token=booking.manage_token)

    @rule(slot=st.integers(0, 2))
    def promote(self, slot):
        slot = self.slots[slot]
        self._attempt(services.booking_waitlist_promote, slot_id=slot.id)
        # All or nothing, and nobody left behind who fits: every waiter promotion could seat needs more places
        # than are still free (or is busy elsewhere at that time, or its unproven hold lapsed).
        slot.refresh_from_db()
        free = slot.capacity - slot.confirmed_count
        now = timezone.now()
        for waiter in Booking.objects.filter(slot=slot, status=Booking.Status.WAITLISTED).exclude(hold_lapsed(now)):
            if overlapping_confirmed(volunteer=waiter.volunteer, slot=slot) is None:
                assert waiter.party_size > free, (waiter.pk, waiter.party_size, free)

    @rule(slot=st.integers(0, 1))
    def redirect(self, slot):
        self._attempt(overflow_for_slot, slot_id=self.slots[slot].id)

    @rule()
    def release_unproven(self):
        self._attempt(services.bookings_release_unproven, now=timezone.now() + timedelta(hours=25))

    @precondition(lambda self: Volunteer.objects.exists())
    @rule(data=st.data())
    def commit_an_assignment_run(self, data):
        volunteers = list(Volunteer.objects.order_by("id"))
        chosen = data.draw(st.lists(st.sampled_from(volunteers), min_size=1, max_size=3, unique_by=lambda v: v.pk))
        run = AssignmentRun.objects.create(params={}, state=AssignmentRun.State.COMMITTING)
        for volunteer in chosen:
            ProposedAssignment.objects.create(run=run, volunteer=volunteer,
                                              slot=self.slots[data.draw(st.integers(0, 2))])
        self._attempt(run_commit_execute, run_id=run.pk)

    @invariant()
    def counters_are_the_confirmed_parties_and_never_over_capacity(self):
        for slot in Slot.objects.filter(pk__in=[s.pk for s in self.slots]):
            places = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).aggregate(
                n=Sum("party_size"))["n"] or 0
            assert places == slot.confirmed_count, (slot.pk, places, slot.confirmed_count)
            assert places <= slot.capacity, (slot.pk, places, slot.capacity)

    @invariant()
    def a_party_is_never_split(self):
        for booking in self._bookings():
            assert 1 <= booking.party_size <= django_settings.PARTY_MAX
            names = [name for name in booking.party_names.split(", ") if name]
            assert len(names) <= booking.party_size - 1, (booking.pk, names, booking.party_size)
            if booking.status == Booking.Status.REDIRECTED:
                assert booking.redirected_to.party_size == booking.party_size, booking.pk


@pytest.fixture
def generous_limits(settings):
    settings.RATE_LIMITS = {scope: "1000000/h" for scope in settings.RATE_LIMITS}


def test_no_sequence_of_party_operations_breaks_the_invariants(db, generous_limits):
    run_state_machine_as_test(PartyMachine, settings=settings(
        max_examples=40, stateful_step_count=30, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
