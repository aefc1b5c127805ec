"""Batch assignment runs: start, solve (Celery), commit (Celery). Nothing changes until commit."""

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from core.broker import enqueue as broker_enqueue
from core.db import any_of, copy_insert, copy_update, ids_reserve
from core.errors import InvalidInput, InvalidState, NotFound
from dispatch import conf
from dispatch.models import AssignmentRun, CoordinatorAction, ProposedAssignment
from dispatch.services.candidates import ASSIGNED_HOLDING, REASON_OUTBID, local_day, problem_build
from dispatch.services.common import action_record
from dispatch.services.coverage import coverage_cache_invalidate
from dispatch.services.lift_placement import rides_place
from dispatch.services.places import places_claim_bulk
from dispatch.solver import party_assignment_solve
from seats.models import Seat
from seats.scopes import NATIONAL, SeatScope
from sessions.models import CanvassSession, Slot
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.selectors import volunteer_languages

Progress = Callable[[int, str], None]
COMMIT_CHUNK_SLOTS = 200

SKIP_SLOT_UNAVAILABLE = "slot_unavailable"
SKIP_SLOT_FULL = "slot_full"
# Some places left, fewer than the party: all of it or none (docs/parties.md).
SKIP_PARTY_NO_ROOM = "no_room_for_whole_party"
SKIP_OVERLAP = "overlapping_booking"
SKIP_ALREADY = "already_booked"
SKIP_ASSIGNED_THAT_DAY = "assigned_that_day_by_another_run"
# A rider placed in a driver's car whose driver was not booked on that slot: without the car the slot is out of reach.
SKIP_LIFT_DRIVER_NOT_BOOKED = "lift_driver_not_booked"

# Shown on the run while its task could not be published (the broker is down); the sweep publishes it later.
WAITING_FOR_QUEUE = "Waiting for the task queue: the run goes on once it is reachable again"
# A queued or committing run whose task has not started by then is published again (run_tasks_requeue_lost).
REQUEUE_GRACE = timedelta(minutes=2)


def _default_k() -> int:
    return conf.nearest_k()


def run_in_scope(run: AssignmentRun, scope: SeatScope) -> bool:
    """A run belongs to a regional organiser's scope when its region is one of theirs or every seat it named is
    theirs; a run over the whole country is national."""
    if scope.national:
        return True
    params = run.params or {}
    if params.get("region"):
        return scope.allows_region(params["region"])
    return bool(params.get("seats")) and scope.allows_all(params["seats"])


def run_get(*, run_id: int, scope: SeatScope = NATIONAL) -> AssignmentRun:
    """The run, or NotFound (also for a run outside the caller's scope)."""
    run = AssignmentRun.objects.select_related("created_by", "committed_by").filter(pk=run_id).first()
    if run is None or not run_in_scope(run, scope):
        raise NotFound(gettext("No such assignment run."))
    return run


def runs_recent(*, scope: SeatScope = NATIONAL, limit: int = 20) -> list[AssignmentRun]:
    """The newest runs the caller may see."""
    query = AssignmentRun.objects.select_related("created_by")
    if scope.national:
        return list(query[:limit])
    return [run for run in query[:limit * 20] if run_in_scope(run, scope)][:limit]


@transaction.atomic
def run_start(*, user, date_from: datetime, date_to: datetime, region: str | None = None,
              seat_codes: list[str] | None = None, k: int | None = None, enqueue: bool = True,
              scope: SeatScope = NATIONAL) -> AssignmentRun:
    """Create a queued run and (after commit) enqueue the solve task. Records a coordinator action. Not idempotent.
    A regional organiser's run covers their region or seats only (all of their seats when they name none)."""
    scope.check_region(region)
    for code in seat_codes or []:
        scope.check_seat(code)
    if not scope.national and not region and not seat_codes:
        seat_codes = sorted(scope.seat_codes)
        if not seat_codes:
            raise InvalidInput(gettext("You have no seats to run."), code="no_seats", fields={"seats": [gettext("No seats.")]})
    if date_to <= date_from:
        raise InvalidInput(gettext("date_to must be after date_from."), code="date_order", fields={"date_to": [gettext("Must be after date_from.")]})
    if region and not Seat.objects.current().filter(region=region).exists():
        raise InvalidInput(gettext("Unknown region %(region)s.") % {"region": region}, code="unknown_region", fields={"region": [gettext("Unknown region.")]})
    seat_codes = sorted({code.strip().upper() for code in seat_codes or []})
    unknown = sorted(set(seat_codes) - set(Seat.objects.current().filter(pk__in=seat_codes)
                                           .values_list("pk", flat=True)))
    if unknown:
        raise InvalidInput(gettext("Unknown seat %(names)s.") % {"names": ', '.join(unknown)}, code="unknown_seat",
                           fields={"seats": [f"Unknown ONS code {code}." for code in unknown]})
    params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "region": region or None,
              "seats": seat_codes, "k": k or _default_k()}
    run = AssignmentRun.objects.create(params=params, created_by=user if user and user.is_authenticated else None)
    action_record(actor=user, kind=CoordinatorAction.Kind.RUN_STARTED, params=params, result={}, run=run)
    if enqueue:
        from dispatch.tasks import assignment_run_execute

        transaction.on_commit(lambda: _run_task_enqueue(assignment_run_execute, run.pk, AssignmentRun.State.QUEUED))
    return run


def _run_task_enqueue(task, run_id: int, state: str) -> bool:
    """Publish a run's task without waiting on a dead broker (core.broker.enqueue); if it could not be, say so
    on the run, which stays in its state for run_tasks_requeue_lost to publish again."""
    if broker_enqueue(task, (run_id,), what=f"assignment run {run_id}"):
        return True
    AssignmentRun.objects.filter(pk=run_id, state=state).update(progress_message=WAITING_FOR_QUEUE)
    return False


def run_tasks_requeue_lost(*, grace: timedelta = REQUEUE_GRACE) -> int:
    """Publish again the tasks of runs still queued, or committing with nothing booked yet, `grace` after they
    were asked for (the broker was down, or lost the message). Safe to repeat: both tasks claim the run first,
    so a copy of a task that was only waiting does nothing."""
    from dispatch.tasks import assignment_run_commit, assignment_run_execute

    cutoff = timezone.now() - grace
    queued = list(AssignmentRun.objects.filter(state=AssignmentRun.State.QUEUED, created_at__lt=cutoff)
                  .order_by("pk").values_list("pk", flat=True)[:100])
    # A committing run's progress moves from 0 with its first chunk; its commit time is its coordinator action's.
    committing = list(AssignmentRun.objects.filter(
        state=AssignmentRun.State.COMMITTING, progress=0,
        actions__kind=CoordinatorAction.Kind.RUN_COMMITTED, actions__created_at__lt=cutoff,
    ).order_by("pk").values_list("pk", flat=True).distinct()[:100])
    published = 0
    for task, state, ids in ((assignment_run_execute, AssignmentRun.State.QUEUED, queued),
                             (assignment_run_commit, AssignmentRun.State.COMMITTING, committing)):
        for run_id in ids:
            if not _run_task_enqueue(task, run_id, state):
                return published  # the broker is down again: the next sweep tries
            published += 1
    return published


def _progress_set(run_id: int, percent: int, message: str, callback: Progress | None) -> None:
    AssignmentRun.objects.filter(pk=run_id).update(progress=percent, progress_message=message[:200])
    if callback:
        callback(percent, message)


def run_execute(*, run_id: int, progress: Progress | None = None) -> AssignmentRun:
    """Solve a queued run and store its proposals; a second call (or a call on another state) does nothing."""
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimed = AssignmentRun.objects.filter(pk=run_id, state=AssignmentRun.State.QUEUED).update(
        state=AssignmentRun.State.RUNNING, started_at=timezone.now(), progress=1
    ) or AssignmentRun.objects.filter(pk=run_id, state=AssignmentRun.State.RUNNING, started_at__lt=stale).update(
        started_at=timezone.now(), progress=1  # a worker died mid-run: take it over
    )
    run = run_get(run_id=run_id)
    if not claimed:
        return run
    try:
        _run_solve(run, progress)
    except Exception as exc:  # recorded on the row for the coordinator; a retry would fail the same way
        AssignmentRun.objects.filter(pk=run_id).update(state=AssignmentRun.State.FAILED, error=repr(exc)[:2000])
        raise
    return run_get(run_id=run_id)


def _run_solve(run: AssignmentRun, progress: Progress | None) -> None:
    params = run.params
    _progress_set(run.pk, 5, "Reading slots, volunteers and availability", progress)
    started = time.perf_counter()
    problem = problem_build(
        date_from=parse_datetime(params["date_from"]), date_to=parse_datetime(params["date_to"]),
        region=params.get("region"), seat_codes=params.get("seats") or None, k=params.get("k") or _default_k(),
    )
    built = time.perf_counter()
    _progress_set(run.pk, 40, f"Solving: {len(problem.volunteer_ids)} volunteers, {len(problem.slot_ids)} slots, "
                              f"{len(problem.vol)} arcs", progress)
    sizes = problem.v_party if len(problem.v_party) else np.ones(len(problem.volunteer_ids), dtype=np.int64)
    solution = party_assignment_solve(sizes=sizes, capacities=problem.slot_free, vol=problem.vol, slot=problem.slot,
                                      value=problem.value)
    solved = time.perf_counter()
    _progress_set(run.pk, 75, "Saving the proposals", progress)

    rides = rides_place(problem, solution.choice)  # riders who need a lift, into the cars just placed
    ride_of = {int(r): (int(d), int(s), float(km), int(v))
               for r, d, s, km, v in zip(rides.rider, rides.driver, rides.slot, rides.distance, rides.value,
                                         strict=True)}
    chosen_arc = _chosen_arcs(problem.vol, problem.slot, len(problem.slot_ids), solution.choice)
    distance_of, value_of = problem.distance[chosen_arc].tolist(), problem.value[chosen_arc].tolist()
    size_of = sizes.tolist()
    proposals, distances = [], []
    reasons: Counter = Counter()
    per_seat: dict[str, dict] = {}
    for index, seat in enumerate(problem.slot_seat):
        entry = per_seat.setdefault(seat, {"slots": 0, "free_places": 0, "assigned": 0})
        entry["slots"] += 1
        entry["free_places"] += int(problem.slot_free[index])
    for index, volunteer_id in enumerate(problem.volunteer_ids.tolist()):
        chosen = int(solution.choice[index])
        if chosen < 0 and index in ride_of:
            driver, ride_slot, km, value = ride_of[index]
            seat = problem.slot_seat[ride_slot]
            per_seat[seat]["assigned"] += size_of[index]
            distances.append(km)
            proposals.append((volunteer_id, int(problem.slot_ids[ride_slot]), seat, round(km, 3), value, "",
                              int(problem.volunteer_ids[driver]), size_of[index]))
            continue
        if chosen < 0:
            reason = problem.reason[index] or REASON_OUTBID
            reasons[reason] += 1
            proposals.append((volunteer_id, None, None, None, 0, reason, None, size_of[index]))
            continue
        seat = problem.slot_seat[chosen]
        per_seat[seat]["assigned"] += size_of[index]
        distances.append(distance_of[index])
        proposals.append((volunteer_id, int(problem.slot_ids[chosen]), seat, round(distance_of[index], 3),
                          value_of[index] * size_of[index], "", None, size_of[index]))
    seats = {s.pk: s for s in Seat.objects.filter(pk__in=list(per_seat)).only("pk", "name", "priority")}
    totals = {
        "volunteers": len(problem.volunteer_ids), "slots": len(problem.slot_ids),
        "free_places": int(problem.slot_free.sum()), "arcs": int(len(problem.vol)),
        "assigned": len(distances), "unassigned": sum(reasons.values()), "unassigned_by_reason": dict(reasons),
        # Places: a party's people (docs/parties.md). The parties' figures say how far from the bound it got.
        "assigned_places": sum(entry["assigned"] for entry in per_seat.values()),
        "parties": _parties_totals(sizes, solution, ride_of),
        "travel_km_total": round(sum(distances), 1),
        "travel_km_median": round(statistics.median(distances), 2) if distances else None,
        "objective": solution.objective + int(rides.value.sum()),
        # Riders who need a lift: placed in a car (dispatch.services.lift_placement), and those left out.
        "by_lift": len(ride_of), "needs_lift_unplaced": _needs_lift_unplaced(problem, solution.choice, len(ride_of)),
        "seats": sorted(
            ({"seat": code, "name": seats[code].name, "priority": seats[code].priority, **entry}
             for code, entry in per_seat.items()),
            key=lambda row: (row["priority"], row["seat"]),
        ),
        "timings_s": {"build": round(built - started, 3), "solve": round(solved - built, 3)},
    }
    with transaction.atomic():
        ProposedAssignment.objects.filter(run_id=run.pk).delete()
        copy_insert(ProposedAssignment, ("volunteer", "slot", "seat", "distance_km", "value", "reason", "lift_driver",
                                         "party_size"),
                    proposals,
                    same={"run": run.pk})
        totals["timings_s"]["save"] = round(time.perf_counter() - solved, 3)
        AssignmentRun.objects.filter(pk=run.pk, state=AssignmentRun.State.RUNNING).update(
            state=AssignmentRun.State.READY, totals=totals, solved_at=timezone.now(), progress=100,
            progress_message="Ready to commit",
        )
    if progress:
        progress(100, "Ready to commit")


def _parties_totals(sizes: np.ndarray, solution, ride_of: dict) -> dict:
    """Parties placed whole and not; the first stage's objective against its bound (every member a solo) and
    whether the bound was reached (then that stage is optimal), and the parties the repair had to place."""
    party = sizes > 1
    placed = solution.choice >= 0
    placed[list(ride_of)] = True
    return {"sign_ups": int(party.sum()), "placed": int((party & placed).sum()),
            "people_placed": int(sizes[party & placed].sum()), "unplaced": int((party & ~placed).sum()),
            "split_by_relaxation": solution.split, "repaired": solution.repaired,
            "objective": solution.objective, "bound": solution.bound, "optimal": solution.optimal}


def _needs_lift_unplaced(problem, choice: np.ndarray, by_lift: int) -> int:
    if len(problem.v_needs_lift) != len(choice):  # no slot in the period: nobody was read
        return 0
    return int((problem.v_needs_lift & (choice < 0)).sum()) - by_lift


def _chosen_arcs(vol: np.ndarray, slot: np.ndarray, n_slots: int, choice: np.ndarray) -> np.ndarray:
    """For each volunteer, the index of the arc to their chosen slot (meaningless where nothing was chosen)."""
    if len(vol) == 0:
        return np.zeros(0, dtype=np.int64)  # nobody was chosen anything
    codes = vol * n_slots + slot
    order = np.argsort(codes)
    wanted = np.arange(len(choice)) * n_slots + np.maximum(choice, 0)
    return order[np.minimum(np.searchsorted(codes, wanted, sorter=order), len(order) - 1)]


@transaction.atomic
def run_commit(*, run_id: int, user, enqueue: bool = True, scope: SeatScope = NATIONAL) -> AssignmentRun:
    """Move a ready run to committing and enqueue the booking task. A second commit does nothing. NotFound for a
    run outside the caller's scope."""
    run = run_get(run_id=run_id, scope=scope)
    if run.state in (AssignmentRun.State.COMMITTING, AssignmentRun.State.COMMITTED):
        return run
    claimed = AssignmentRun.objects.filter(pk=run_id, state=AssignmentRun.State.READY).update(
        state=AssignmentRun.State.COMMITTING, committed_by=user if user and user.is_authenticated else None,
        progress=0, progress_message="Committing",
    )
    if not claimed:
        run.refresh_from_db()
        if run.state in (AssignmentRun.State.COMMITTING, AssignmentRun.State.COMMITTED):
            return run
        raise InvalidState(gettext("A %(state)s run cannot be committed.") % {"state": run.get_state_display().lower()}, code="run_not_ready",
                           fields={"state": [run.state]})
    action_record(actor=user, kind=CoordinatorAction.Kind.RUN_COMMITTED, params={"run": run_id},
                  result={"proposed": run.totals.get("assigned", 0)}, run=run)
    if enqueue:
        from dispatch.tasks import assignment_run_commit

        transaction.on_commit(lambda: _run_task_enqueue(assignment_run_commit, run_id, AssignmentRun.State.COMMITTING))
    return run_get(run_id=run_id)


def run_commit_execute(*, run_id: int, progress: Progress | None = None) -> AssignmentRun:
    """Create the bookings of a committing run, slot by slot; resumable and safe to run twice."""
    run = run_get(run_id=run_id)
    if run.state != AssignmentRun.State.COMMITTING:
        return run
    pending: dict[int, list[int]] = defaultdict(list)
    for proposal_id, slot_id in ProposedAssignment.objects.filter(run_id=run_id, slot__isnull=False, outcome="") \
            .values_list("pk", "slot_id"):
        pending[slot_id].append(proposal_id)
    slot_ids = sorted(pending)
    total = max(1, len(slot_ids))
    for start in range(0, len(slot_ids), COMMIT_CHUNK_SLOTS):
        chunk = slot_ids[start:start + COMMIT_CHUNK_SLOTS]
        _commit_chunk(run_id=run_id, slot_ids=chunk,
                      proposal_ids=[pk for slot_id in chunk for pk in pending[slot_id]])
        done = min(len(slot_ids), start + len(chunk))
        _progress_set(run_id, int(99 * done / total), f"Booked {done} of {len(slot_ids)} slots", progress)

    outcomes = Counter()
    for outcome, reason in ProposedAssignment.objects.filter(run_id=run_id, slot__isnull=False).values_list(
        "outcome", "reason"
    ):
        outcomes[(outcome, reason)] += 1
    totals = dict(run.totals)
    totals["booked"] = sum(n for (outcome, _), n in outcomes.items() if outcome == ProposedAssignment.Outcome.BOOKED)
    totals["skipped_at_commit"] = {reason: n for (outcome, reason), n in outcomes.items()
                                   if outcome == ProposedAssignment.Outcome.SKIPPED}
    AssignmentRun.objects.filter(pk=run_id, state=AssignmentRun.State.COMMITTING).update(
        state=AssignmentRun.State.COMMITTED, committed_at=timezone.now(), totals=totals, progress=100,
        progress_message="Committed",
    )
    coverage_cache_invalidate()
    if progress:
        progress(100, "Committed")
    return run_get(run_id=run_id)


class _SlotState(NamedTuple):
    free: int
    starts_at: datetime
    ends_at: datetime
    bookable: bool


@transaction.atomic
def _commit_chunk(*, run_id: int, slot_ids: list[int], proposal_ids: list[int]) -> None:
    """Book one chunk of slots. The slot rows are locked (in id order), then the volunteer rows, so hand
    bookings made meanwhile are seen; the conditional UPDATE and the check constraint still refuse
    any overbooking. Rows are read as tuples and written with COPY: a model instance per booking cost most
    of the time."""
    now = timezone.now()
    slots = {
        pk: _SlotState(capacity - confirmed, starts_at, ends_at,
                       bookable=status == CanvassSession.Status.PUBLISHED and starts_at > now)
        for pk, capacity, confirmed, starts_at, ends_at, status in Slot.objects.select_for_update(of=("self",))
        .filter(pk__in=slot_ids).order_by("pk")
        .values_list("pk", "capacity", "confirmed_count", "starts_at", "ends_at", "session__status")
    }
    # Read again after the slot locks, so a second execution of this commit (a redelivered task) waits for
    # the first and sees what it booked; locking each proposal row as well would write every row once more.
    proposals = list(ProposedAssignment.objects.filter(any_of("pk", proposal_ids), outcome="")
                     .order_by("-value", "id").values_list("pk", "volunteer_id", "slot_id", "lift_driver_id",
                                                           "party_size"))
    if not proposals:
        return
    # Drivers before their riders (a driver and their riders share a slot, so a chunk): a rider goes only in a car
    # that is booked there. The sort is stable, so each group keeps the run's order of value.
    proposals.sort(key=lambda proposal: proposal[3] is not None)
    volunteer_ids = sorted({proposal[1] for proposal in proposals})
    # The party's names as the sign-up gives them now, up to the run's party size (docs/parties.md).
    names = dict(Volunteer.objects.select_for_update().filter(any_of("pk", volunteer_ids)).order_by("pk")
                 .values_list("pk", "party_names"))
    existing = {(volunteer_id, slot_id): (pk, status) for pk, volunteer_id, slot_id, status in
                Booking.objects.select_for_update().filter(any_of("volunteer_id", volunteer_ids), slot_id__in=slot_ids)
                .values_list("pk", "volunteer_id", "slot_id", "status")}
    span_from = min(slot.starts_at for slot in slots.values())
    span_to = max(slot.ends_at for slot in slots.values())
    busy: dict[int, list[tuple]] = defaultdict(list)
    for volunteer_id, starts_at, ends_at in Booking.objects.filter(
        any_of("volunteer_id", volunteer_ids), status=Booking.Status.CONFIRMED, slot__starts_at__lt=span_to,
        slot__ends_at__gt=span_from,
    ).values_list("volunteer_id", "slot__starts_at", "slot__ends_at"):
        busy[volunteer_id].append((starts_at, ends_at))

    # One assigned slot a day each: a run committed meanwhile (or an earlier one) may have placed them that day.
    assigned_days: dict[int, set[int]] = defaultdict(set)
    for volunteer_id, starts_at in Booking.objects.filter(
        any_of("volunteer_id", volunteer_ids), source=Booking.Source.ASSIGNED, status__in=ASSIGNED_HOLDING,
        slot__starts_at__lt=span_to + timedelta(days=1), slot__starts_at__gte=span_from - timedelta(days=1),
    ).values_list("volunteer_id", "slot__starts_at"):
        assigned_days[volunteer_id].add(local_day(starts_at))
    free = {pk: slot.free for pk, slot in slots.items()}
    skipped, granted_new, granted_again = [], [], []
    booked_here = {key for key, (_, status) in existing.items() if status == Booking.Status.CONFIRMED}
    for proposal_id, volunteer_id, slot_id, lift_driver_id, size in proposals:
        slot = slots.get(slot_id)
        previous = existing.get((volunteer_id, slot_id))
        if slot is None or not slot.bookable:
            reason = SKIP_SLOT_UNAVAILABLE
        elif previous is not None and previous[1] != Booking.Status.CANCELLED:
            reason = SKIP_ALREADY
        elif lift_driver_id is not None and (lift_driver_id, slot_id) not in booked_here:
            reason = SKIP_LIFT_DRIVER_NOT_BOOKED
        elif any(s < slot.ends_at and e > slot.starts_at for s, e in busy[volunteer_id]):
            reason = SKIP_OVERLAP
        elif local_day(slot.starts_at) in assigned_days[volunteer_id]:
            reason = SKIP_ASSIGNED_THAT_DAY
        elif free[slot_id] < size:  # all of the party or none of it
            reason = SKIP_SLOT_FULL if free[slot_id] <= 0 else SKIP_PARTY_NO_ROOM
        else:
            free[slot_id] -= size
            booked_here.add((volunteer_id, slot_id))
            busy[volunteer_id].append((slot.starts_at, slot.ends_at))
            assigned_days[volunteer_id].add(local_day(slot.starts_at))
            party = (size, ", ".join([n for n in (names.get(volunteer_id) or "").split(", ") if n][:size - 1]))
            if previous is None:
                granted_new.append((proposal_id, volunteer_id, slot_id, *party))
            else:
                granted_again.append((proposal_id, previous[0], slot_id, *party))
            continue
        skipped.append((proposal_id, ProposedAssignment.Outcome.SKIPPED, reason, None))

    wanted = Counter()
    for _, _, slot_id, size, _ in granted_new + granted_again:
        wanted[slot_id] += size
    if wanted:
        places_claim_bulk(dict(wanted))
    booking_ids = ids_reserve(Booking, len(granted_new))
    # Each booking in its volunteer's language (their sign-up's), not the coordinator's: its texts use it.
    languages = volunteer_languages(volunteer_ids={granted[1] for granted in granted_new})
    copy_insert(Booking, ("id", "volunteer", "slot", "language", "party_size", "party_names"),
                ((booking_id, volunteer_id, slot_id, languages[volunteer_id], size, party_names)
                 for booking_id, (_, volunteer_id, slot_id, size, party_names)
                 in zip(booking_ids, granted_new, strict=True)),
                same={"status": Booking.Status.CONFIRMED, "source": Booking.Source.ASSIGNED, "proven_at": now})
    versions = dict.fromkeys(booking_ids, 1)
    for _, booking_id, _, size, party_names in granted_again:  # cancelled rows on these slots, re-used as
        # booking_place does, with the run's party (a statement each: they are rare)
        Booking.objects.filter(pk=booking_id).update(
            status=Booking.Status.CONFIRMED, source=Booking.Source.ASSIGNED, version=F("version") + 1,
            cancelled_at=None, waitlisted_at=None, redirected_to=None, updated_at=now, proven_at=now,
            approval=Booking.Approval.NOT_REQUIRED, party_size=size, party_names=party_names)
    if granted_again:
        versions.update(Booking.objects.filter(pk__in=[granted[1] for granted in granted_again])
                        .values_list("pk", "version"))
    booked = [(granted[0], ProposedAssignment.Outcome.BOOKED, "", booking_id)
              for booking_id, granted in zip(booking_ids, granted_new, strict=True)]
    booked += [(granted[0], ProposedAssignment.Outcome.BOOKED, "", granted[1]) for granted in granted_again]
    copy_update(ProposedAssignment, ("outcome", "reason", "booking"), skipped + booked)
    booking_events_record_bulk(booking_versions=list(versions.items()), kind=BookingEvent.Kind.CONFIRMED,
                               payload={"source": Booking.Source.ASSIGNED, "run": run_id})
