"""Batch assignment runs: start, solve (Celery), commit (Celery). Nothing changes until commit."""

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import InvalidInput, InvalidState, NotFound
from dispatch import conf
from dispatch.models import AssignmentRun, CoordinatorAction, ProposedAssignment
from dispatch.services.candidates import REASON_OUTBID, problem_build
from dispatch.services.common import action_record
from dispatch.solver import assignment_solve
from seats.models import Seat
from sessions.models import CanvassSession, Slot
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent, Volunteer

Progress = Callable[[int, str], None]
COMMIT_CHUNK_SLOTS = 200

SKIP_SLOT_UNAVAILABLE = "slot_unavailable"
SKIP_SLOT_FULL = "slot_full"
SKIP_OVERLAP = "overlapping_booking"
SKIP_ALREADY = "already_booked"


def _default_k() -> int:
    return conf.nearest_k()


def run_get(*, run_id: int) -> AssignmentRun:
    run = AssignmentRun.objects.select_related("created_by", "committed_by").filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such assignment run.")
    return run


@transaction.atomic
def run_start(*, user, date_from: datetime, date_to: datetime, region: str | None = None,
              seat_codes: list[str] | None = None, k: int | None = None, enqueue: bool = True) -> AssignmentRun:
    """Create a queued run and (after commit) enqueue the solve task. Records a coordinator action. Not idempotent."""
    if date_to <= date_from:
        raise InvalidInput("date_to must be after date_from.", fields={"date_to": ["Must be after date_from."]})
    if region and not Seat.objects.filter(region=region).exists():
        raise InvalidInput(f"Unknown region {region}.", code="unknown_region", fields={"region": ["Unknown region."]})
    seat_codes = sorted({code.strip().upper() for code in seat_codes or []})
    unknown = sorted(set(seat_codes) - set(Seat.objects.filter(pk__in=seat_codes).values_list("pk", flat=True)))
    if unknown:
        raise InvalidInput(f"Unknown seat {', '.join(unknown)}.", code="unknown_seat",
                           fields={"seats": [f"Unknown ONS code {code}." for code in unknown]})
    params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "region": region or None,
              "seats": seat_codes, "k": k or _default_k()}
    run = AssignmentRun.objects.create(params=params, created_by=user if user and user.is_authenticated else None)
    action_record(actor=user, kind=CoordinatorAction.Kind.RUN_STARTED, params=params, result={}, run=run)
    if enqueue:
        from dispatch.tasks import assignment_run_execute

        transaction.on_commit(lambda: assignment_run_execute.delay(run.pk))
    return run


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
    solution = assignment_solve(n_volunteers=len(problem.volunteer_ids), capacities=problem.slot_free,
                                vol=problem.vol, slot=problem.slot, value=problem.value)
    solved = time.perf_counter()
    _progress_set(run.pk, 75, "Saving the proposals", progress)

    distance_of = dict(zip((problem.vol * len(problem.slot_ids) + problem.slot).tolist(), problem.distance.tolist(),
                           strict=True))
    value_of = dict(zip((problem.vol * len(problem.slot_ids) + problem.slot).tolist(), problem.value.tolist(),
                        strict=True))
    proposals, distances = [], []
    reasons: Counter = Counter()
    per_seat: dict[str, dict] = {}
    for index, seat in enumerate(problem.slot_seat):
        entry = per_seat.setdefault(seat, {"slots": 0, "free_places": 0, "assigned": 0})
        entry["slots"] += 1
        entry["free_places"] += int(problem.slot_free[index])
    for index, volunteer_id in enumerate(problem.volunteer_ids.tolist()):
        chosen = int(solution.choice[index])
        if chosen < 0:
            reason = problem.reason[index] or REASON_OUTBID
            reasons[reason] += 1
            proposals.append(ProposedAssignment(run_id=run.pk, volunteer_id=volunteer_id, reason=reason))
            continue
        code = index * len(problem.slot_ids) + chosen
        seat = problem.slot_seat[chosen]
        per_seat[seat]["assigned"] += 1
        distances.append(distance_of[code])
        proposals.append(ProposedAssignment(
            run_id=run.pk, volunteer_id=volunteer_id, slot_id=int(problem.slot_ids[chosen]), seat_id=seat,
            distance_km=round(distance_of[code], 3), value=value_of[code],
        ))
    seats = {s.pk: s for s in Seat.objects.filter(pk__in=list(per_seat)).only("pk", "name", "priority")}
    totals = {
        "volunteers": len(problem.volunteer_ids), "slots": len(problem.slot_ids),
        "free_places": int(problem.slot_free.sum()), "arcs": int(len(problem.vol)),
        "assigned": len(distances), "unassigned": sum(reasons.values()), "unassigned_by_reason": dict(reasons),
        "travel_km_total": round(sum(distances), 1),
        "travel_km_median": round(statistics.median(distances), 2) if distances else None,
        "objective": solution.objective,
        "seats": sorted(
            ({"seat": code, "name": seats[code].name, "priority": seats[code].priority, **entry}
             for code, entry in per_seat.items()),
            key=lambda row: (row["priority"], row["seat"]),
        ),
        "timings_s": {"build": round(built - started, 3), "solve": round(solved - built, 3)},
    }
    with transaction.atomic():
        ProposedAssignment.objects.filter(run_id=run.pk).delete()
        ProposedAssignment.objects.bulk_create(proposals, batch_size=5000)
        totals["timings_s"]["save"] = round(time.perf_counter() - solved, 3)
        AssignmentRun.objects.filter(pk=run.pk, state=AssignmentRun.State.RUNNING).update(
            state=AssignmentRun.State.READY, totals=totals, solved_at=timezone.now(), progress=100,
            progress_message="Ready to commit",
        )
    if progress:
        progress(100, "Ready to commit")


@transaction.atomic
def run_commit(*, run_id: int, user, enqueue: bool = True) -> AssignmentRun:
    """Move a ready run to committing and enqueue the booking task. A second commit does nothing."""
    run = run_get(run_id=run_id)
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
        raise InvalidState(f"A {run.get_state_display().lower()} run cannot be committed.", code="run_not_ready",
                           fields={"state": [run.state]})
    action_record(actor=user, kind=CoordinatorAction.Kind.RUN_COMMITTED, params={"run": run_id},
                  result={"proposed": run.totals.get("assigned", 0)}, run=run)
    if enqueue:
        from dispatch.tasks import assignment_run_commit

        transaction.on_commit(lambda: assignment_run_commit.delay(run_id))
    return run_get(run_id=run_id)


def run_commit_execute(*, run_id: int, progress: Progress | None = None) -> AssignmentRun:
    """Create the bookings of a committing run, slot by slot; resumable and safe to run twice."""
    run = run_get(run_id=run_id)
    if run.state != AssignmentRun.State.COMMITTING:
        return run
    pending = ProposedAssignment.objects.filter(run_id=run_id, slot__isnull=False, outcome="")
    slot_ids = sorted(set(pending.values_list("slot_id", flat=True)))
    total = max(1, len(slot_ids))
    for start in range(0, len(slot_ids), COMMIT_CHUNK_SLOTS):
        chunk = slot_ids[start:start + COMMIT_CHUNK_SLOTS]
        _commit_chunk(run_id=run_id, slot_ids=chunk)
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
    if progress:
        progress(100, "Committed")
    return run_get(run_id=run_id)


@transaction.atomic
def _commit_chunk(*, run_id: int, slot_ids: list[int]) -> None:
    """Book one chunk of slots. Slot rows are locked (in id order) and volunteer rows too, so hand bookings
    made meanwhile are seen; the conditional UPDATE and the check constraint still refuse any overbooking."""
    now = timezone.now()
    slots = {s.pk: s for s in Slot.objects.select_for_update(of=("self",)).select_related("session")
             .filter(pk__in=slot_ids).order_by("pk")}
    proposals = list(ProposedAssignment.objects.select_for_update()
                     .filter(run_id=run_id, slot_id__in=slot_ids, outcome="").order_by("-value", "id"))
    if not proposals:
        return
    volunteer_ids = sorted({p.volunteer_id for p in proposals})
    list(Volunteer.objects.select_for_update().filter(pk__in=volunteer_ids).order_by("pk").values_list("pk"))
    existing = {(b.volunteer_id, b.slot_id): b for b in
                Booking.objects.select_for_update().filter(volunteer_id__in=volunteer_ids, slot_id__in=slot_ids)}
    span_from = min(s.starts_at for s in slots.values())
    span_to = max(s.ends_at for s in slots.values())
    busy: dict[int, list[tuple]] = defaultdict(list)
    for volunteer_id, starts_at, ends_at in Booking.objects.filter(
        volunteer_id__in=volunteer_ids, status=Booking.Status.CONFIRMED, slot__starts_at__lt=span_to,
        slot__ends_at__gt=span_from,
    ).values_list("volunteer_id", "slot__starts_at", "slot__ends_at"):
        busy[volunteer_id].append((starts_at, ends_at))

    free = {pk: slot.capacity - slot.confirmed_count for pk, slot in slots.items()}
    granted: dict[int, list[ProposedAssignment]] = defaultdict(list)
    for proposal in proposals:
        slot = slots.get(proposal.slot_id)
        previous = existing.get((proposal.volunteer_id, proposal.slot_id))
        if slot is None or slot.session.status != CanvassSession.Status.PUBLISHED or slot.starts_at <= now:
            proposal.reason = SKIP_SLOT_UNAVAILABLE
        elif previous is not None and previous.status != Booking.Status.CANCELLED:
            proposal.reason = SKIP_ALREADY
        elif any(s < slot.ends_at and e > slot.starts_at for s, e in busy[proposal.volunteer_id]):
            proposal.reason = SKIP_OVERLAP
        elif free[slot.pk] <= 0:
            proposal.reason = SKIP_SLOT_FULL
        else:
            free[slot.pk] -= 1
            busy[proposal.volunteer_id].append((slot.starts_at, slot.ends_at))
            granted[slot.pk].append(proposal)
            continue
        proposal.outcome = ProposedAssignment.Outcome.SKIPPED

    if granted:
        _claim_places({pk: len(group) for pk, group in granted.items()})
    new_bookings, reused = [], []
    for slot_id, group in granted.items():
        for proposal in group:
            previous = existing.get((proposal.volunteer_id, slot_id))
            if previous is None:
                new_bookings.append(Booking(volunteer_id=proposal.volunteer_id, slot_id=slot_id,
                                            status=Booking.Status.CONFIRMED, source=Booking.Source.ASSIGNED))
            else:  # a cancelled booking on this slot: re-use the row, as booking_place does
                previous.status, previous.source = Booking.Status.CONFIRMED, Booking.Source.ASSIGNED
                previous.version += 1
                previous.cancelled_at = previous.waitlisted_at = previous.redirected_to = None
                reused.append(previous)
    Booking.objects.bulk_create(new_bookings, batch_size=2000)
    if reused:
        Booking.objects.bulk_update(reused, ["status", "source", "version", "cancelled_at", "waitlisted_at",
                                             "redirected_to", "updated_at"])
    bookings = {(b.volunteer_id, b.slot_id): b for b in new_bookings + reused}
    for group in granted.values():
        for proposal in group:
            proposal.booking = bookings[(proposal.volunteer_id, proposal.slot_id)]
            proposal.outcome = ProposedAssignment.Outcome.BOOKED
    _proposals_update(proposals)
    booking_events_record_bulk(bookings=list(bookings.values()), kind=BookingEvent.Kind.CONFIRMED,
                               payload={"source": Booking.Source.ASSIGNED, "run": run_id})


def _proposals_update(proposals: list[ProposedAssignment]) -> None:
    """One UPDATE ... FROM (VALUES ...) per batch: Django's bulk_update builds a CASE per row and is far slower."""
    table = ProposedAssignment._meta.db_table
    for start in range(0, len(proposals), 5000):
        batch = proposals[start:start + 5000]
        values = ", ".join(["(%s, %s, %s, %s::bigint)"] * len(batch))
        params = [x for p in batch for x in (p.pk, p.outcome, p.reason, p.booking.pk if p.booking else None)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS p SET outcome = v.outcome, reason = v.reason, booking_id = v.booking "  # noqa: S608
                f"FROM (VALUES {values}) AS v(id, outcome, reason, booking) WHERE p.id = v.id",
                params,
            )


def _claim_places(wanted: dict[int, int]) -> None:
    """Conditional UPDATE of every slot in one statement; all-or-nothing (the rows are locked by the caller)."""
    values = ", ".join(["(%s, %s)"] * len(wanted))
    params = [x for pair in wanted.items() for x in pair]
    table = Slot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET confirmed_count = s.confirmed_count + w.n "  # noqa: S608 - no user input
            f"FROM (VALUES {values}) AS w(id, n) WHERE s.id = w.id AND s.confirmed_count + w.n <= s.capacity",
            params,
        )
        if cursor.rowcount != len(wanted):
            raise RuntimeError("a slot changed under its lock; the chunk is rolled back and will be retried")
