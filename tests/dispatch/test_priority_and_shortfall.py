"""Where are we short (need against proven places), overflow in priority order, one assigned slot a day, and
overflow as soon as a waitlisted phone is proven."""

from datetime import timedelta

import pytest

from dispatch.models import OverflowMove, ProposedAssignment
from dispatch.services import assignment
from dispatch.services.coverage import coverage_by_seat
from dispatch.services.seats import seat_need_change
from dispatch.tasks import overflow_slot
from notify.sms.texts import booking_text
from tests.dispatch import factories as f
from tests.factories import OrganiserScopeFactory
from volunteers.identity import booking_prove_by_link
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db

# Real seats of the 2024 set, the current one: drawn on its maps (the priorities are the tests' own)
A, B, C, D = "E14001188", "E14001527", "E14001187", "E14001153"


@pytest.fixture
def needs(settings):
    settings.SEAT_NEED_BY_PRIORITY = [4, 3, 2, 1, 0]
    settings.OVERFLOW_AUTO = False
    a = f.seat(A, lat=51.38172, lng=-0.10034, priority=1, name="Croydon West")
    b = f.seat(B, lat=51.42125, lng=-0.11291, priority=3, name="Streatham and Croydon North")
    f.seat(C, lat=51.33156, lng=-0.11298, priority=5, name="Croydon South")
    f.seat(D, lat=51.36368, lng=-0.15552, priority=2, name="Carshalton and Wallington")
    slot_a = f.session(a, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    for _ in range(2):
        f.book(f.volunteer(lat=a.lat, lng=a.lng), slot_a)
    f.book(f.volunteer(lat=a.lat, lng=a.lng, proven=False), slot_a, proven=False)  # a hold, not yet proven
    slot_b = f.session(b, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    f.book(f.volunteer(lat=b.lat, lng=b.lng), slot_b)
    seat_need_change(actor=None, ons_code=B, need_per_day=10)
    day = f.day_at(0)
    return day, day + timedelta(days=1)


def test_shortfall_counts_proven_places_only_and_sorts_by_shortfall_times_priority(needs):
    rows = coverage_by_seat(date_from=needs[0], date_to=needs[1], every_seat=True)
    got = {row["seat"]: (row["need"], row["proven"], row["unproven"], row["shortfall"]) for row in rows}
    assert got == {
        A: (4, 2, 1, 2),     # priority 1 needs 4; the unproven hold is shown apart and not counted
        B: (10, 1, 0, 9),    # its own need, set on its page
        D: (3, 0, 0, 3),     # no slots at all, yet it needs people: listed
    }                        # C (priority 5) needs nobody and has no slots: not listed
    assert [row["seat"] for row in rows] == [B, D, A]  # 9x3=27, 3x4=12, 2x5=10
    two_days = coverage_by_seat(date_from=needs[0], date_to=needs[0] + timedelta(days=2), every_seat=True)
    assert {row["seat"]: row["need"] for row in two_days} == {A: 8, B: 20, D: 6}
    # the API's rows are the seats with slots, in the same order
    assert [row["seat"] for row in coverage_by_seat(date_from=needs[0], date_to=needs[1])] == [B, A]


def test_the_dashboard_leads_with_shortfall_and_colours_both_maps_by_it(client, needs):
    client.force_login(f.user("national"))
    page = client.get(f"/coordinate/?date_from={needs[0].date().isoformat()}&date_to={needs[0].date().isoformat()}")
    html = page.content.decode()
    table = html.split('id="seats-table"', 1)[1]
    assert table.index("Streatham and Croydon North") < table.index("Carshalton") < table.index("Croydon West")
    assert "14 proven places missing of 17 needed" in html and "1 more held by phones not yet proven" in html
    assert f'fill="#7f0000" data-seat="{B}"' in html  # short of 90% of its need: the darkest band
    boundaries = client.get(f"/coordinate/?map=boundaries&region=Test&date_from={needs[0].date().isoformat()}"
                            f"&date_to={needs[0].date().isoformat()}").content.decode()
    assert f'fill="#7f0000" data-seat="{B}"' in boundaries
    assert "zoomed" in boundaries and 'viewBox="0 0' not in boundaries.split('class="map map-boundaries', 1)[1][:80]
    assert '<text class="seat-label"' in boundaries and ">Croydon West</text>" in boundaries
    assert ">Carshalton and Wallington</text>" not in boundaries  # no sessions there: no label


def _overflow_area():
    full = f.seat("E14000201", lat=53.37, lng=-1.55, priority=3, name="Fullton")
    low = f.seat("E14000202", lat=53.37, lng=-1.52, priority=4, name="Low Next Door")
    high = f.seat("E14000203", lat=53.37, lng=-1.47, priority=1, name="High Further")
    f.adjacent(full, low)
    f.adjacent(low, high)
    slot_f = f.session(full, slots=[(f.day_at(10), f.day_at(12), 1)]).slots.get()
    f.fill(slot_f, near=full)
    return full, low, high, slot_f


def test_overflow_first_offers_the_same_seat_at_the_same_time(settings):
    settings.OVERFLOW_AUTO = False
    full, low, high, slot_f = _overflow_area()
    same_seat = f.session(full, slots=[(f.day_at(10), f.day_at(12), 1)]).slots.get()
    f.session(high, slots=[(f.day_at(10), f.day_at(12), 5)])
    waiting = f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None), slot_f)
    overflow_slot.delay(slot_f.pk)
    waiting.refresh_from_db()
    assert waiting.redirected_to.slot_id == same_seat.pk
    event = BookingEvent.objects.get(booking=waiting, kind=BookingEvent.Kind.REDIRECTED)
    assert "another session in Fullton has room" in event.payload["reason"]
    assert OverflowMove.objects.get(from_booking=waiting).ring == 0


def test_overflow_never_sends_anyone_to_a_lower_priority_seat_while_a_higher_one_in_reach_has_room(settings):
    settings.OVERFLOW_AUTO = False
    full, low, high, slot_f = _overflow_area()
    low_slot = f.session(low, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    high_slot = f.session(high, slots=[(f.day_at(10), f.day_at(12), 1)]).slots.get()
    first, second = (f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None), slot_f) for _ in range(2))
    overflow_slot.delay(slot_f.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    # High Further (priority 1, ring 2, 5 km) before Low Next Door (priority 4, ring 1, 2 km); when it is full,
    # the next one goes next door
    assert (first.redirected_to.slot_id, second.redirected_to.slot_id) == (high_slot.pk, low_slot.pk)
    text = booking_text(kind="booking_redirected", booking=Booking.objects.select_related(
        "redirected_to__slot__session__meeting_point", "redirected_to__slot__session__seat", "slot__session",
        "volunteer").get(pk=second.pk))
    assert "needed most" not in text and "with room" in text
    assert "needed most" not in BookingEvent.objects.get(booking=second, kind=BookingEvent.Kind.REDIRECTED).payload[
        "reason"]


def test_a_waitlisted_phone_is_overflowed_as_soon_as_it_is_proven(settings, django_capture_on_commit_callbacks):
    settings.OVERFLOW_AUTO = True
    full, low, high, slot_f = _overflow_area()
    low_slot = f.session(low, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    with django_capture_on_commit_callbacks(execute=True):
        waiting = f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None, proven=False), slot_f,
                         proven=False)
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.WAITLISTED  # unproven: not moved when the waitlist formed
    with django_capture_on_commit_callbacks(execute=True):
        booking_prove_by_link(manage_token=waiting.manage_token)
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.REDIRECTED and waiting.redirected_to.slot_id == low_slot.pk


def _waiting_unproven(full, slot_f, n):
    return [f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None, proven=False), slot_f, proven=False)
            for _ in range(n)]


def test_proofs_on_one_slot_enqueue_one_overflow_until_it_starts(settings, monkeypatch,
                                                                  django_capture_on_commit_callbacks):
    from dispatch.services.overflow import overflow_pending_clear

    settings.OVERFLOW_AUTO = True
    full, _, _, slot_f = _overflow_area()  # nowhere to overflow to: the waiters stay
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _waiting_unproven(full, slot_f, 4)
    queued = []
    monkeypatch.setattr("dispatch.services.overflow.enqueue",
                        lambda task, args=(), **kwargs: queued.append((task.name, args)) or True)
    overflow_pending_clear(slot_id=slot_f.pk)  # whatever the waitlistings queued has started
    for booking in waiting[:3]:
        with django_capture_on_commit_callbacks(execute=True):
            booking_prove_by_link(manage_token=booking.manage_token)
    assert queued == [("dispatch.overflow_slot", (slot_f.pk,))]  # one queued, not started: it will see all three
    assert overflow_slot.run(slot_f.pk) == 0  # it starts: a proof from now on may be newer than what it reads
    with django_capture_on_commit_callbacks(execute=True):
        booking_prove_by_link(manage_token=waiting[3].manage_token)
    assert queued == [("dispatch.overflow_slot", (slot_f.pk,))] * 2
    assert {b.status for b in Booking.objects.filter(pk__in=[b.pk for b in waiting])} == {Booking.Status.WAITLISTED}


def test_an_overflow_that_could_not_be_queued_is_asked_for_again(settings, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    from dispatch.services.overflow import overflow_pending_clear

    settings.OVERFLOW_AUTO = True
    full, _, _, slot_f = _overflow_area()
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _waiting_unproven(full, slot_f, 2)
    tried = []
    monkeypatch.setattr("dispatch.services.overflow.enqueue",
                        lambda task, args=(), **kwargs: tried.append(args) and False)  # the broker is down
    overflow_pending_clear(slot_id=slot_f.pk)
    for booking in waiting:
        with django_capture_on_commit_callbacks(execute=True):
            booking_prove_by_link(manage_token=booking.manage_token)
    assert tried == [(slot_f.pk,)] * 2


def _run_and_commit():
    run = assignment.run_start(user=None, date_from=f.day_at(0), date_to=f.day_at(23), enqueue=False)
    assignment.run_execute(run_id=run.pk)
    assignment.run_commit(run_id=run.pk, user=None, enqueue=False)
    return assignment.run_commit_execute(run_id=run.pk)


def test_a_second_run_never_gives_a_volunteer_a_second_slot_that_day():
    seat = f.seat("E14000401", lat=53.37, lng=-1.55, priority=1)
    morning = f.session(seat, slots=[(f.day_at(9), f.day_at(11), 1)]).slots.get()
    vol = f.volunteer(lat=seat.lat, lng=seat.lng, max_travel_km=10, windows=[(f.day_at(8), f.day_at(20))])
    first = _run_and_commit()
    assert Booking.objects.get(volunteer=vol).slot_id == morning.pk
    afternoon = f.session(seat, slots=[(f.day_at(14), f.day_at(16), 3)]).slots.get()  # added after the first run
    second = _run_and_commit()
    assert second.pk != first.pk
    assert not Booking.objects.filter(volunteer=vol, slot=afternoon).exists()
    assert ProposedAssignment.objects.get(run=second, volunteer=vol).slot_id is None
    # the volunteer may still book the afternoon themselves
    assert f.book(vol, afternoon).status == Booking.Status.CONFIRMED


def test_the_dashboard_figures_are_shared_briefly_and_a_coordinators_change_reads_afresh(
        needs, settings, django_capture_on_commit_callbacks):
    from dispatch.services.coverage import coverage_for_dashboard
    from seats.scopes import seat_scope_for

    settings.COVERAGE_CACHE_SECONDS = 60
    first, read_at = coverage_for_dashboard(date_from=needs[0], date_to=needs[1])
    slot_a = Booking.objects.filter(slot__session__seat_id=A).first().slot
    f.book(f.volunteer(lat=51.38172, lng=-0.10034), slot_a)  # a volunteer books: shown within the minute, not at once
    again, again_at = coverage_for_dashboard(date_from=needs[0], date_to=needs[1])
    assert again == first and again_at == read_at
    with django_capture_on_commit_callbacks(execute=True):
        seat_need_change(actor=None, ons_code=A, need_per_day=9)  # a coordinator's own change is seen at once
    fresh, _ = coverage_for_dashboard(date_from=needs[0], date_to=needs[1])
    assert {row["seat"]: (row["need"], row["proven"]) for row in fresh}[A] == (9, 3)
    # a regional organiser gets the same figures cut to their seats
    organiser = f.user("regional")
    OrganiserScopeFactory(user=organiser, seats=[B])
    mine, _ = coverage_for_dashboard(date_from=needs[0], date_to=needs[1], scope=seat_scope_for(organiser))
    assert [row["seat"] for row in mine] == [B]
    settings.COVERAGE_CACHE_SECONDS = 0
    f.book(f.volunteer(lat=51.38172, lng=-0.10034), slot_a)
    assert {row["seat"]: row["proven"] for row in coverage_for_dashboard(
        date_from=needs[0], date_to=needs[1])[0]}[A] == 4


def test_a_regional_organisers_map_greys_the_other_seats_and_opens_on_theirs(client, needs):

    organiser = f.user("regional")
    OrganiserScopeFactory(user=organiser, seats=[B])
    client.force_login(organiser)
    page = client.get("/coordinate/?map=boundaries").content.decode()
    assert f'fill="#f7f7f7" data-seat="{A}" aria-hidden="true"><title>' in page  # greyed, no link, no figures
    assert f'href="/coordinate/seats/{A}/"' not in page and f'href="/coordinate/seats/{B}/"' in page
    assert "map-boundaries zoomed" in page  # opens on their seats
