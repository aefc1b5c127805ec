"""Committing an assignment run: set-based writes, hand bookings racing the commit, re-used cancelled bookings."""


import pytest
from django.db.models import Count

from core.errors import Conflict
from dispatch.models import AssignmentRun, ProposedAssignment
from dispatch.services import assignment
from notify.sms.models import SmsMessage
from tests.dispatch import factories as f
from tests.factories import booking_ask
from tests.threads import run_together
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel


def _solved_run():
    run = assignment.run_start(user=None, date_from=f.day_at(0), date_to=f.day_at(23), enqueue=False)
    return assignment.run_execute(run_id=run.pk)


def _assert_never_overbooked(slots):
    for slot in slots:
        slot.refresh_from_db()
        confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()
        assert slot.confirmed_count == confirmed <= slot.capacity


def _assert_no_volunteer_in_two_places():
    spans: dict[int, list] = {}
    for volunteer_id, starts_at, ends_at in Booking.objects.filter(status=Booking.Status.CONFIRMED).values_list(
        "volunteer_id", "slot__starts_at", "slot__ends_at"
    ):
        for s, e in spans.get(volunteer_id, []):
            assert not (s < ends_at and e > starts_at), volunteer_id
        spans.setdefault(volunteer_id, []).append((starts_at, ends_at))


@pytest.mark.django_db(transaction=True)
def test_hand_bookings_racing_the_commit_are_respected_and_nothing_is_overbooked(monkeypatch):
    monkeypatch.setattr(assignment, "COMMIT_CHUNK_SLOTS", 1)  # many small transactions to race against
    seat = f.seat("E14000401", lat=53.37, lng=-1.55, priority=1)
    f.postcode("S10 1AA", lat=53.37, lng=-1.55, seat_code=seat.pk)
    morning = [f.session(seat, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get() for _ in range(6)]
    other_session = f.session(seat, slots=[(f.day_at(11), f.day_at(13), 40)]).slots.get()
    window = [(f.day_at(9), f.day_at(12))]  # fits the morning slots only
    for _ in range(24):
        f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=window)
    run = _solved_run()
    assert run.totals["assigned"] == 18
    proposed = list(ProposedAssignment.objects.filter(run=run, slot__isnull=False).select_related("volunteer"))
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)


    def strangers_book_the_morning_slots():
        for i in range(18):
            booking_ask(slot_id=morning[i % len(morning)].pk, name=f"Hand {i}", phone=f"+4474009{i:05d}",
                           postcode="S10 1AA")

    def proposed_volunteers_book_elsewhere():
        for proposal in proposed[::3]:  # an overlapping slot: whoever comes second is refused or skipped
            try:
                f.book(proposal.volunteer, other_session)
            except Conflict:
                pass  # the commit booked them first

    errors = run_together(lambda: assignment.run_commit_execute(run_id=run.pk), strangers_book_the_morning_slots,
                          proposed_volunteers_book_elsewhere)
    assert not errors, errors

    run.refresh_from_db()
    assert run.state == AssignmentRun.State.COMMITTED
    _assert_never_overbooked([*morning, other_session])
    _assert_no_volunteer_in_two_places()
    booked = ProposedAssignment.objects.filter(run=run, outcome=ProposedAssignment.Outcome.BOOKED)
    skipped = ProposedAssignment.objects.filter(run=run, outcome=ProposedAssignment.Outcome.SKIPPED)
    assert booked.count() + skipped.count() == 18
    assert run.totals["booked"] == booked.count()
    assert set(skipped.values_list("reason", flat=True)) <= {"slot_full", "overlapping_booking"}
    for proposal in booked.select_related("booking"):
        assert proposal.booking.status == Booking.Status.CONFIRMED
        assert (proposal.booking.volunteer_id, proposal.booking.slot_id) == (proposal.volunteer_id, proposal.slot_id)
    # A second commit after the race changes nothing.
    assignment.run_commit_execute(run_id=run.pk)
    assert Booking.objects.filter(source=Booking.Source.ASSIGNED).count() == booked.count()


@pytest.mark.django_db(transaction=True)
def test_two_executions_of_one_commit_at_once_book_each_proposal_once(monkeypatch):
    monkeypatch.setattr(assignment, "COMMIT_CHUNK_SLOTS", 1)
    seat = f.seat("E14000405", lat=53.37, lng=-1.55, priority=1)
    slots = [f.session(seat, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get() for _ in range(8)]
    for _ in range(30):
        f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=[(f.day_at(9), f.day_at(16))])
    run = _solved_run()
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    def execute():
        assignment.run_commit_execute(run_id=run.pk)

    errors = run_together(execute, execute)
    assert not errors, errors
    assert Booking.objects.count() == 24
    assert BookingEvent.objects.count() == SmsMessage.objects.count() == 24
    assert ProposedAssignment.objects.filter(run=run, outcome=ProposedAssignment.Outcome.BOOKED).count() == 24
    assert not ProposedAssignment.objects.filter(run=run, outcome=ProposedAssignment.Outcome.SKIPPED).exists()
    _assert_never_overbooked(slots)


@pytest.mark.django_db
def test_every_committed_booking_gets_one_event_and_one_sms_row_written_with_it(django_capture_on_commit_callbacks):
    seat = f.seat("E14000402", lat=53.37, lng=-1.55, priority=1)
    slots = [f.session(seat, slots=[(f.day_at(10), f.day_at(12), 4)]).slots.get() for _ in range(3)]
    for i in range(14):
        vol = f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=[(f.day_at(9), f.day_at(16))],
                          name=f"Vol{i} Surname")
        vol.consent_sms = i % 2 == 0
        vol.save(update_fields=["consent_sms"])
    run = _solved_run()
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assignment.run_commit_execute(run_id=run.pk)
    assert callbacks, "the events' tasks and the sends are enqueued after commit"

    bookings = Booking.objects.filter(source=Booking.Source.ASSIGNED, status=Booking.Status.CONFIRMED)
    assert bookings.count() == 12
    events = BookingEvent.objects.filter(booking__in=bookings, kind=BookingEvent.Kind.CONFIRMED)
    assert events.count() == 12
    assert all(e.payload == {"source": "assigned", "run": run.pk} and e.version == 1 for e in events)
    messages = SmsMessage.objects.filter(booking__in=bookings, kind="booking_confirmed", version=1)
    assert messages.count() == 12
    assert messages.filter(status="pending").count() == 6
    assert set(messages.filter(status="skipped").values_list("skip_reason", flat=True)) == {"no_consent"}
    assert all(m.body.startswith("Frontroom: Vol") and "1 Test Street" in m.body for m in messages)
    assert all(len(b.manage_token) >= 22 for b in bookings)
    assert len({b.manage_token for b in bookings}) == 12
    _assert_never_overbooked(slots)


@pytest.mark.django_db
def test_a_cancelled_booking_on_the_proposed_slot_is_reused_with_a_new_version(django_capture_on_commit_callbacks):
    seat = f.seat("E14000403", lat=53.37, lng=-1.55, priority=1)
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    vol = f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=[(f.day_at(9), f.day_at(16))])
    with django_capture_on_commit_callbacks(execute=True):
        earlier = f.book(vol, slot)
        booking_cancel(manage_token=earlier.manage_token)
    earlier.refresh_from_db()
    assert earlier.status == Booking.Status.CANCELLED
    run = _solved_run()
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    assignment.run_commit_execute(run_id=run.pk)

    reused = Booking.objects.get(pk=earlier.pk)
    assert reused.status == Booking.Status.CONFIRMED and reused.source == Booking.Source.ASSIGNED
    assert reused.version == earlier.version + 1 and reused.cancelled_at is None
    assert Booking.objects.count() == 1
    assert ProposedAssignment.objects.get(run=run, volunteer=vol).booking_id == reused.pk
    assert BookingEvent.objects.filter(booking=reused, kind=BookingEvent.Kind.CONFIRMED,
                                       version=reused.version).count() == 1
    assert SmsMessage.objects.filter(booking=reused, kind="booking_confirmed", version=reused.version).count() == 1
    slot.refresh_from_db()
    assert slot.confirmed_count == 1


@pytest.mark.django_db
def test_commit_skips_what_no_longer_fits_with_the_reason():
    seat = f.seat("E14000404", lat=53.37, lng=-1.55, priority=1)
    slot = f.session(seat, slots=[(f.day_at(10), f.day_at(12), 3)]).slots.get()
    vols = [f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=[(f.day_at(9), f.day_at(16))])
            for _ in range(3)]
    run = _solved_run()
    f.book(vols[0], slot)  # booked this very slot by hand
    f.fill(slot, near=seat, n=1)  # and a stranger took a place: one proposal no longer fits
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    assignment.run_commit_execute(run_id=run.pk)
    outcomes = dict(ProposedAssignment.objects.filter(run=run).values_list("volunteer_id", "reason"))
    assert outcomes[vols[0].pk] == "already_booked"
    reasons = sorted(outcomes[v.pk] for v in vols[1:])
    assert reasons == ["", "slot_full"]
    _assert_never_overbooked([slot])
    counts = dict(Booking.objects.values("slot").annotate(n=Count("id")).values_list("slot", "n"))
    assert counts[slot.pk] == 3
