"""Overflow: send waitlisted volunteers of a full slot to slots in neighbouring seats.

Order of preference for each volunteer (first come, first served along the waitlist): first another
slot with room in the same seat at the same time (ring 0); then the neighbouring seats (ring 1: adjacent,
ring 2: their neighbours) by seat priority, highest first, so nobody is sent to a lower-priority seat
while a higher-priority one within their reach has room; among equal priorities the nearer ring, then
shorter travel. A target slot must overlap the full slot's time, have a free place and lie within the
volunteer's travel limit (their own, or DIRECT_BOOKING_TRAVEL_KM for people who only booked). A regional
organiser's overflow moves people only between seats of their scope.

Each move is its own transaction: lock the volunteer, lock the waitlisted booking and check it is
still waitlisted and never moved (OverflowMove is unique per booking), then book the target through
volunteers.services.booking_place (conditional UPDATE on the slot, check constraint behind it).
"""

import logging
import time
from contextlib import suppress
from dataclasses import asdict, dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from redis.exceptions import RedisError

from core.broker import enqueue
from core.errors import Conflict, InvalidInput, InvalidState, NotFound
from core.geo import haversine_km
from dispatch import conf
from dispatch.models import CoordinatorAction, OverflowMove
from dispatch.services.common import action_record, open_slots, travel_limit_km
from dispatch.services.coverage import coverage_cache_invalidate
from seats.models import Seat, SeatAdjacency
from seats.scopes import NATIONAL, SeatScope
from sessions.locations import public_distance_km
from sessions.models import CanvassSession, Slot
from volunteers.events import booking_event_record
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.services import booking_cancel_locked, booking_place, booking_status_set

logger = logging.getLogger(__name__)

REASON_NONE_IN_REACH = "no_neighbouring_slot_within_travel_limit"
REASON_FULL = "neighbouring_slots_full"
REASON_GONE = "no_longer_waitlisted"
REASON_OVERLAP = "overlapping_booking"
DEADLOCK_RETRIES = 3


@dataclass(frozen=True)
class Move:
    booking: int
    volunteer: int
    volunteer_name: str
    from_slot: int
    from_seat: str
    to_slot: int
    to_seat: str
    to_seat_name: str
    ring: int
    priority: int
    distance_km: float
    new_booking: int | None = None


@dataclass(frozen=True)
class Unplaced:
    booking: int
    volunteer: int
    from_slot: int
    reason: str


@dataclass
class OverflowResult:
    dry_run: bool
    moves: list[Move]
    unplaced: list[Unplaced]
    action_id: int | None = None

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "moved": len(self.moves), "not_placed": len(self.unplaced),
                "moves": [asdict(m) for m in self.moves], "unplaced": [asdict(u) for u in self.unplaced],
                "action": self.action_id}


@dataclass(frozen=True)
class _Target:
    slot: Slot
    seat: Seat
    ring: int


def seat_rings(*, source_seats: set[str], max_rings: int) -> dict[str, int]:
    """Seats around the sources by adjacency distance (1 = shares a border), sources excluded."""
    rings: dict[str, int] = {}
    frontier = set(source_seats)
    for ring in range(1, max_rings + 1):
        # Neighbours in the current set only: a seat the review left unchanged keeps its old set's pairs too.
        found = set(SeatAdjacency.objects.filter(from_seat_id__in=frontier, to_seat__in=Seat.objects.current())
                    .values_list("to_seat_id", flat=True))
        frontier = found - source_seats - set(rings)
        for code in frontier:
            rings[code] = ring
        if not frontier:
            break
    return rings


def _targets(*, source: Slot, rings: dict[str, int]) -> list[_Target]:
    slots = (
        open_slots().filter(session__seat_id__in=list(rings), starts_at__lt=source.ends_at, ends_at__gt=source.starts_at,
                            session__requires_approval=False)
        .exclude(pk=source.pk).select_related("session__seat").order_by("starts_at", "id")
    )
    return [_Target(slot, slot.session.seat, rings[slot.session.seat_id]) for slot in slots]


def _ranked(volunteer: Volunteer, targets: list[_Target]) -> list[tuple[_Target, float]]:
    limit = travel_limit_km(volunteer)
    reachable = []
    for target in targets:
        distance = haversine_km(volunteer.lat, volunteer.lng, target.slot.session.lat, target.slot.session.lng)
        if distance <= limit:
            reachable.append((target, distance))
    # The same seat first (ring 0); then priority before nearness of ring, so a higher-priority seat in reach
    # always comes before a lower-priority one.
    reachable.sort(key=lambda pair: (pair[0].ring > 0, pair[0].seat.priority, pair[0].ring, pair[1],
                                     pair[0].slot.starts_at, pair[0].slot.pk))
    return reachable


def source_slots_resolve(*, seat_code: str | None = None, session_id: int | None = None,
                         scope: SeatScope = NATIONAL) -> tuple[list[Slot], set[str]]:
    """The upcoming full slots (with a waitlist) of a seat or a session, and the seats they are in. NotFound for
    a seat or session outside the caller's scope."""
    query = Slot.objects.filter(starts_at__gt=timezone.now(), session__status=CanvassSession.Status.PUBLISHED)
    if seat_code:
        seat_code = seat_code.strip().upper()
        scope.check_seat(seat_code)
        if not Seat.objects.current().filter(pk=seat_code).exists():
            raise InvalidInput(gettext("Unknown seat %(seat_code)s.") % {"seat_code": seat_code}, code="unknown_seat", fields={"seat": [gettext("Unknown ONS code.")]})
        query, seats = query.filter(session__seat_id=seat_code), {seat_code}
    else:
        session = CanvassSession.objects.filter(pk=session_id).first()
        if session is not None:
            scope.check_seat(session.seat_id)
        if session is None:
            raise NotFound(gettext("No such session."), fields={"session": [gettext("Unknown session.")]})
        query, seats = query.filter(session=session), {session.seat_id}
    slots = list(query.filter(bookings__status=Booking.Status.WAITLISTED).distinct().select_related("session__seat")
                 .order_by("starts_at", "id"))
    return slots, seats


def _waitlist(slot: Slot) -> list[Booking]:
    return list(
        # Only proven phones are sent elsewhere: an unproven place is released in a while anyway.
        Booking.objects.filter(slot=slot, status=Booking.Status.WAITLISTED, overflow_move__isnull=True,
                               proven_at__isnull=False)
        .select_related("volunteer").order_by("waitlisted_at", "id")
    )


def overflow_run(*, source_slots: list[Slot], source_seats: set[str], target_seats: list[str] | None = None,
                 dry_run: bool = False, trigger: str = OverflowMove.Trigger.COORDINATOR, actor=None,
                 params: dict | None = None, scope: SeatScope = NATIONAL) -> OverflowResult:
    """Plan (dry_run) or carry out the overflow of the given full slots. Idempotent: a moved booking is never
    moved again, and concurrent runs serialise on the volunteer and booking rows. Records a coordinator
    action when an actor is given. Only from and to seats of the caller's scope."""
    for code in source_seats:
        scope.check_seat(code)
    if target_seats:
        codes = sorted({code.strip().upper() for code in target_seats})
        for code in codes:
            scope.check_seat(code)
        known = set(Seat.objects.current().filter(pk__in=codes).values_list("pk", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise InvalidInput(gettext("Unknown seat %(names)s.") % {"names": ', '.join(unknown)}, code="unknown_seat",
                               fields={"target_seats": [f"Unknown ONS code {c}." for c in unknown]})
        rings = {code: 1 for code in codes if code not in source_seats}
    else:
        rings = seat_rings(source_seats=source_seats, max_rings=conf.overflow_max_rings())
    rings.update(dict.fromkeys(source_seats, 0))  # the same seat at the same time comes first
    if not scope.national:
        rings = {code: ring for code, ring in rings.items() if scope.allows(code)}
    action = None
    if actor is not None:
        kind = CoordinatorAction.Kind.OVERFLOW_PLANNED if dry_run else CoordinatorAction.Kind.OVERFLOW_EXECUTED
        action = action_record(actor=actor, kind=kind, params=params or {}, result={})
    result = OverflowResult(dry_run=dry_run, moves=[], unplaced=[], action_id=action.pk if action else None)
    for source in source_slots:
        room = source.places_left  # its over-booking allowance included, as the waitlist's promotion counts
        waitlist = [booking for booking in _waitlist(source) if booking.party_size > room]
        if not waitlist:
            continue  # whoever fits in the slot itself is the waitlist promotion's job, not overflow's
        targets = _targets(source=source, rings=rings)
        free = {t.slot.pk: t.slot.capacity - t.slot.confirmed_count for t in targets}
        for booking in waitlist:  # only those the slot has not room for (a party bigger than the places left)
            ranked = _ranked(booking.volunteer, targets)
            if not ranked:
                result.unplaced.append(Unplaced(booking.pk, booking.volunteer_id, source.pk, REASON_NONE_IN_REACH))
                continue
            if dry_run:  # a party moves as one, to a slot with room for all of it
                choice = next(((t, d) for t, d in ranked if free[t.slot.pk] >= booking.party_size), None)
                if choice is None:
                    result.unplaced.append(Unplaced(booking.pk, booking.volunteer_id, source.pk, REASON_FULL))
                    continue
                free[choice[0].slot.pk] -= booking.party_size
                result.moves.append(_move_record(booking, source, *choice))
                continue
            outcome = _move_with_retry(booking_id=booking.pk, source=source, ranked=ranked, free=free,
                                       trigger=trigger, action=action)
            if isinstance(outcome, Move):
                result.moves.append(outcome)
            else:
                result.unplaced.append(Unplaced(booking.pk, booking.volunteer_id, source.pk, outcome))
    if result.moves and not dry_run:
        coverage_cache_invalidate()
    if action is not None:
        summary = result.as_dict()
        action.result = {k: summary[k] for k in ("moved", "not_placed", "moves", "unplaced")}
        action.save(update_fields=["result"])
    return result


def _move_record(booking: Booking, source: Slot, target: _Target, distance: float, new_booking=None) -> Move:
    return Move(booking.pk, booking.volunteer_id, booking.volunteer.name, source.pk, source.session.seat_id,
                target.slot.pk, target.seat.pk, target.seat.name, target.ring, target.seat.priority,
                public_distance_km(distance), new_booking)


def _move_with_retry(**kwargs) -> Move | str:
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return _move_one(**kwargs)
        except OperationalError:  # a deadlock with a concurrent booking: PostgreSQL picked us, try again
            if attempt == DEADLOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


@transaction.atomic
def _move_one(*, booking_id: int, source: Slot, ranked: list[tuple[_Target, float]], free: dict[int, int],
              trigger: str, action) -> Move | str:
    """Move one waitlisted booking (a party as one) to the first ranked target with room for all of it; return the
    move or why not."""
    volunteer_id = Booking.objects.filter(pk=booking_id).values_list("volunteer_id", flat=True).first()
    volunteer = Volunteer.objects.select_for_update().get(pk=volunteer_id)
    old = Booking.objects.select_for_update().select_related("volunteer").get(pk=booking_id)
    if old.status != Booking.Status.WAITLISTED or OverflowMove.objects.filter(from_booking=old).exists():
        return REASON_GONE
    for target, distance in ranked:
        if free[target.slot.pk] < old.party_size:
            continue
        slot = Slot.objects.select_related("session").get(pk=target.slot.pk)
        try:
            with transaction.atomic():
                placed = booking_place(volunteer=volunteer, slot=slot, source=Booking.Source.REDIRECT,
                                       waitlist_when_full=False, proven=True, language=old.language,
                                       party_size=old.party_size, party_names=old.party_names,
                                       event_payload={"source": Booking.Source.REDIRECT, "redirected_from": old.pk})
        except Conflict as exc:
            if exc.code == "overlapping_booking":
                return REASON_OVERLAP
            free[target.slot.pk] = 0
            continue
        except InvalidState:
            free[target.slot.pk] = 0
            continue
        new = placed.booking
        if not placed.created or new.status != Booking.Status.CONFIRMED:
            continue  # already on that slot's list: not a move
        free[target.slot.pk] -= old.party_size
        booking_status_set(booking=old, status=Booking.Status.REDIRECTED, redirected_to=new)
        # Only what is true: the slot was full and this one has room. Not "needed most": that is a claim about
        # every other seat, which overflow does not check.
        if target.ring == 0:
            reason = (f"{source.session.seat.name} is full at that time in your session; another session in "
                      f"{target.seat.name} has room, {public_distance_km(distance):.1f} km from you")
        else:
            reason = (f"{source.session.seat.name} is full at that time; {target.seat.name} (priority "
                      f"{target.seat.priority}) has room, {public_distance_km(distance):.1f} km from you")
        booking_event_record(booking=old, kind=BookingEvent.Kind.REDIRECTED, payload={
            "to_booking": new.pk, "from_slot": source.pk, "to_slot": slot.pk,
            "from_seat": source.session.seat_id, "from_seat_name": source.session.seat.name,
            "to_seat": target.seat.pk, "to_seat_name": target.seat.name, "distance_km": public_distance_km(distance),
            "reason": reason,
        })
        OverflowMove.objects.create(
            from_booking=old, to_booking=new, volunteer=volunteer, from_seat_id=source.session.seat_id,
            to_seat=target.seat, ring=target.ring, distance_km=round(distance, 3), trigger=trigger, action=action,
        )
        return _move_record(old, source, target, distance, new.pk)
    return REASON_FULL


def overflow_for_slot(*, slot_id: int, trigger: str = OverflowMove.Trigger.WAITLIST) -> OverflowResult:
    """Overflow one slot if it is full and has a waitlist (the after-commit trigger). Safe to repeat."""
    slot = Slot.objects.select_related("session__seat").filter(pk=slot_id).first()
    empty = OverflowResult(dry_run=False, moves=[], unplaced=[])
    if slot is None or slot.starts_at <= timezone.now() or slot.session.status != CanvassSession.Status.PUBLISHED:
        return empty
    return overflow_run(source_slots=[slot], source_seats={slot.session.seat_id}, trigger=trigger)


def overflow_sweep() -> int:
    """Overflow every upcoming full slot that still has movable waitlisted volunteers. Returns moves made."""
    slot_ids = list(
        Slot.objects.filter(starts_at__gt=timezone.now(), session__status=CanvassSession.Status.PUBLISHED,
                            confirmed_count__gte=F("capacity"), bookings__status=Booking.Status.WAITLISTED,
                            bookings__overflow_move__isnull=True)
        .values_list("id", flat=True).distinct().order_by("id")
    )
    return sum(len(overflow_for_slot(slot_id=pk, trigger=OverflowMove.Trigger.SWEEP).moves) for pk in slot_ids)


def overflow_after_waitlisting(event: BookingEvent) -> None:
    """Async booking-event handler: a waitlist formed, so enqueue the overflow of that slot."""
    if event.kind != BookingEvent.Kind.WAITLISTED or not conf.overflow_auto():
        return
    if event.payload.get("redirect_declined"):
        return  # they chose this waitlist; do not send them away again
    slot_id = event.booking.slot_id
    # A lost overflow is found again by the overflow sweep.
    transaction.on_commit(lambda: overflow_enqueue_once(slot_id=slot_id))


def overflow_after_proof(sender=None, *, booking: Booking, **kwargs) -> None:
    """booking_proven receiver, in the proof's transaction: a waitlisted phone just proven is now movable, so
    enqueue its slot's overflow after commit rather than leave it to the next sweep."""
    if booking.status != Booking.Status.WAITLISTED or not conf.overflow_auto():
        return
    slot_id = booking.slot_id
    transaction.on_commit(lambda: overflow_enqueue_once(slot_id=slot_id))


def _overflow_pending_key(slot_id: int) -> str:
    return f"dispatch:overflow-pending:{slot_id}"


# How long a queued overflow keeps others of its slot from being enqueued, past its countdown: a task lost with its
# worker blocks the next enqueue no longer than this, and the overflow sweep (every 5 minutes) finds the slot anyway.
OVERFLOW_PENDING_GRACE_SECONDS = 300


def overflow_enqueue_once(*, slot_id: int) -> bool:
    """After commit: enqueue the overflow of this slot unless one is queued and not started yet (it will read what
    was just committed). False if none was enqueued. Never raises.

    Every proof of a waitlisted booking asks for its slot's overflow: 900 proofs of one slot in bench/booking.py's
    fill run, each a Celery publish, 16% of such a proof's CPU (bench/proof_cases.py full_proof, BENCHMARKS.md
    issue 20). A SET NX in the cache (one round trip) lets the first through; the task clears it as it starts."""
    from dispatch.tasks import overflow_slot

    delay = conf.overflow_delay_seconds()
    key = _overflow_pending_key(slot_id)
    try:
        if not _cache_add(key, delay + OVERFLOW_PENDING_GRACE_SECONDS):
            return False
    except (RedisError, OSError):
        key = None  # no cache: enqueue every time, as before
    if enqueue(overflow_slot, (slot_id,), countdown=delay):
        return True
    if key is not None:
        with suppress(RedisError, OSError):
            cache.delete(key)  # not queued: let the next proof try again
    return False


def _cache_add(key: str, ttl: int) -> bool:
    """cache.add(key, 1, timeout=ttl). On Redis through one client per cache instance (per thread): Django builds
    a new redis.Redis per operation, whose table of reply callbacks cost more than the SET NX (core.ratelimit)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.add(key, 1, timeout=ttl)
    client = getattr(backend._cache, "_overflow_client", None)
    if client is None:
        client = backend._cache._overflow_client = backend._cache.get_client(write=True)
    # Django's Redis serializer stores ints raw: the key reads back as 1 with cache.get().
    return bool(client.set(backend.make_and_validate_key(key), 1, nx=True, ex=ttl))


def overflow_pending_clear(*, slot_id: int) -> None:
    """The slot's queued overflow starts: a waitlisting or proof committed from now on enqueues another, since
    this run may read the slot before it. Never raises."""
    with suppress(RedisError, OSError):
        cache.delete(_overflow_pending_key(slot_id))


def booking_redirect_move(*, booking: Booking) -> OverflowMove | None:
    """The overflow move this booking is either end of (the place it was moved from, or the place found for it),
    for its page to say so. Read-only; nothing at all (not even a transaction) for a booking no move touched."""
    if booking.status != Booking.Status.REDIRECTED and booking.source != Booking.Source.REDIRECT:
        return None
    with transaction.atomic():
        return (OverflowMove.objects.filter(from_booking=booking).first()
                or OverflowMove.objects.filter(to_booking=booking).first())


def redirect_declinable(move: OverflowMove | None) -> bool:
    """Whether booking_redirect_decline would still undo this move (its own test, read without locks)."""
    if move is None or move.declined_at is not None:
        return False
    statuses = dict(Booking.objects.filter(pk__in=[move.from_booking_id, move.to_booking_id])
                    .values_list("pk", "status"))
    return (statuses.get(move.from_booking_id) == Booking.Status.REDIRECTED
            and statuses.get(move.to_booking_id) in (Booking.Status.CONFIRMED, Booking.Status.CANCELLED))


def booking_redirect_decline(*, manage_token: str) -> Booking:
    """The volunteer turns the redirect down: cancel the new booking (its place is freed and offered to that
    slot's waitlist) and put the old one back on its waitlist at its original position. Idempotent."""
    booking = Booking.objects.filter(manage_token=manage_token).first()
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    move = OverflowMove.objects.filter(from_booking=booking).first() or OverflowMove.objects.filter(
        to_booking=booking).first()
    if move is None:
        raise InvalidState(gettext("This booking was not redirected."), code="not_redirected")
    Volunteer.objects.select_for_update().get(pk=move.volunteer_id)
    move = OverflowMove.objects.select_for_update().get(pk=move.pk)
    old = Booking.objects.select_for_update().get(pk=move.from_booking_id)
    new = Booking.objects.select_for_update().get(pk=move.to_booking_id)
    if move.declined_at is not None:
        return old
    if old.status != Booking.Status.REDIRECTED or new.status not in (Booking.Status.CONFIRMED, Booking.Status.CANCELLED):
        raise InvalidState(gettext("This redirect can no longer be declined."), code="redirect_not_declinable")
    if new.status == Booking.Status.CONFIRMED:
        booking_cancel_locked(booking=new)
    # waitlisted_at is left as it was, so they return to their original place in the queue.
    booking_status_set(booking=old, status=Booking.Status.WAITLISTED, redirected_to=None)
    booking_event_record(booking=old, kind=BookingEvent.Kind.WAITLISTED,
                         payload={"redirect_declined": True, "declined_booking": new.pk})
    move.declined_at = timezone.now()
    move.save(update_fields=["declined_at"])
    from volunteers.tasks import waitlist_promote

    slot_id = old.slot_id
    transaction.on_commit(lambda: enqueue(waitlist_promote, (slot_id,)))
    return old

