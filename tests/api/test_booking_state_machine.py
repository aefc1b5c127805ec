"""Property-based: no sequence of booking operations breaks the booking invariants.

A hypothesis RuleBasedStateMachine drives the real services on PostgreSQL (book through the phone proof, cancel,
overflow redirect, waitlist promotion, host approval and refusal, the release of unproven places, erasing a
volunteer) over three slots: two that overlap in a session asking for approval, and one in the neighbouring
seat, where overflow sends people. After every step: no slot over capacity, each slot's counter equal to its
confirmed rows, no volunteer holding two overlapping places, every waitlist in order (positions 1..n, first come
first served). Each example runs in a savepoint rolled back at its end.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.errors import DomainError
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
from volunteers import identity, privacy, services
from volunteers.models import Booking, Volunteer
from volunteers.selectors import booking_clash
from volunteers.serializers import BookingSerializer

PHONES = [f"+4474009{n:05d}" for n in range(6)]


class BookingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        seat, neighbour = seat_with_neighbour()
        PostcodeFactory(postcode="S10 1AA", seat=seat)
        self.host = UserFactory(username="machine-host")
        start = timezone.now() + timedelta(days=3)
        room = MeetingPointFactory(host=self.host, seat=seat, postcode="S10 1AA")
        approval = CanvassSessionFactory(meeting_point=room, starts_at=start, requires_approval=True)
        self.slots = [
            SlotFactory(session=approval, capacity=2),
            SlotFactory(session=approval, capacity=1, starts_at=start + timedelta(hours=1),
                        ends_at=start + timedelta(hours=3)),  # overlaps the first
            SlotFactory(session__meeting_point=MeetingPointFactory(host=self.host, seat=neighbour, lat=53.40,
                                                                   lng=-1.45),
                        session__starts_at=start, capacity=2),  # at the same time: somewhere to overflow to
        ]

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    def _bookings(self, *statuses):
        query = Booking.objects.filter(slot__in=self.slots)
        return list((query.filter(status__in=statuses) if statuses else query).order_by("id"))

    def _attempt(self, call, *args, **kwargs):
        """A refusal (full, overlapping, not awaiting approval, ...) is a domain error, never anything else."""
        try:
            with transaction.atomic():
                return call(*args, **kwargs)
        except DomainError:
            return None

    @rule(phone=st.sampled_from(PHONES), slot=st.integers(0, 2), prove=st.booleans())
    def book(self, phone, slot, prove):
        asked = self._attempt(booking_ask, slot_id=self.slots[slot].id, name="Vol", phone=phone, postcode="S10 1AA")
        if asked is not None and prove:
            self._attempt(identity.booking_prove_by_link, manage_token=asked.booking.manage_token)

    @precondition(lambda self: self._bookings(*services.ACTIVE_STATUSES))
    @rule(data=st.data())
    def cancel(self, data):
        booking = data.draw(st.sampled_from(self._bookings(*services.ACTIVE_STATUSES)))
        self._attempt(services.booking_cancel, manage_token=booking.manage_token)

    @rule(slot=st.integers(0, 2))
    def promote(self, slot):
        slot = self.slots[slot]
        waiting = [b.id for b in Booking.objects.filter(slot=slot, status=Booking.Status.WAITLISTED)
                   .order_by("waitlisted_at", "id")]
        promoted = [b.id for b in self._attempt(services.booking_waitlist_promote, slot_id=slot.id) or []]
        # First come, first served: everyone ahead of a promoted volunteer was promoted too, or is busy elsewhere.
        for booking_id in promoted:
            for ahead in waiting[:waiting.index(booking_id)]:
                booking = Booking.objects.get(pk=ahead)
                assert ahead in promoted or services.common.overlapping_confirmed(
                    volunteer=booking.volunteer, slot=slot) is not None, (waiting, promoted)

    @rule(slot=st.integers(0, 1))
    def redirect(self, slot):
        self._attempt(overflow_for_slot, slot_id=self.slots[slot].id)

    @precondition(lambda self: self._bookings(*services.ACTIVE_STATUSES))
    @rule(data=st.data(), approve=st.booleans())
    def approve_or_refuse(self, data, approve):
        booking = data.draw(st.sampled_from(self._bookings(*services.ACTIVE_STATUSES)))
        call = services.booking_approve if approve else services.booking_refuse
        self._attempt(call, user=self.host, session_id=booking.slot.session_id, booking_id=booking.id)

    @rule()
    def release_unproven(self):
        self._attempt(services.bookings_release_unproven, now=timezone.now() + timedelta(hours=25))

    @precondition(lambda self: Volunteer.objects.filter(anonymised_at__isnull=True).exists())
    @rule(data=st.data())
    def erase_volunteer(self, data):
        volunteer = data.draw(st.sampled_from(list(Volunteer.objects.filter(anonymised_at__isnull=True)
                                                   .order_by("id"))))
        self._attempt(privacy.volunteer_personal_data_erase, volunteer_id=volunteer.id)

    @invariant()
    def no_slot_over_capacity_and_counters_match(self):
        for slot in Slot.objects.filter(pk__in=[s.pk for s in self.slots]):
            confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()
            assert confirmed == slot.confirmed_count, (slot.pk, confirmed, slot.confirmed_count)
            assert confirmed <= slot.capacity, (slot.pk, confirmed, slot.capacity)

    @invariant()
    def every_overlap_of_proven_places_is_named_to_the_prover(self):
        # A booking request never reads the phone's other bookings (the answer must not say where the phone's owner
        # is), so it may hold a place at the time of another; an unproven hold is no clash (it may be a stranger's
        # decoy), and two proven places at one time are each named to the prover (booking_clash), who keeps one.
        held = {}
        for booking in self._bookings(*services.HOLDING_STATUSES):
            if booking.proven_at is None:
                continue
            for other in held.get(booking.volunteer_id, []):
                if other.slot.starts_at < booking.slot.ends_at and booking.slot.starts_at < other.slot.ends_at:
                    assert booking_clash(booking=booking) is not None, (booking.volunteer_id, other.pk, booking.pk)
                    assert booking_clash(booking=other) is not None, (booking.volunteer_id, other.pk, booking.pk)
            held.setdefault(booking.volunteer_id, []).append(booking)

    @invariant()
    def waitlists_are_in_order(self):
        serializer = BookingSerializer()
        for slot in self.slots:
            waiting = list(Booking.objects.filter(slot=slot, status=Booking.Status.WAITLISTED)
                           .order_by("waitlisted_at", "id"))
            assert all(booking.waitlisted_at is not None for booking in waiting)
            positions = [serializer.get_waitlist_position(booking) for booking in waiting]
            assert positions == list(range(1, len(waiting) + 1)), positions


@pytest.fixture
def generous_limits(settings):
    settings.RATE_LIMITS = {scope: "1000000/h" for scope in settings.RATE_LIMITS}


@pytest.mark.fuzz
def test_no_sequence_of_booking_operations_breaks_the_invariants(db, generous_limits):
    run_state_machine_as_test(BookingMachine, settings=settings(
        max_examples=50, stateful_step_count=30, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
