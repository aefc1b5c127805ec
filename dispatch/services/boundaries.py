"""Moving a live installation from one boundary set to the next (manage.py move_to_boundary_set).

What moves: each meeting point's seat and each volunteer's seat, found again from their postcodes in the new
set; the seat of every session that has not ended (its meeting point's new seat, or the successor of a seat
the host chose); coordinators' priority overrides and target flags, carried to a seat's clear successor.
What stays: sessions that have ended, their bookings, overflow moves and assignment proposals keep the old
seats, so the coverage history of the old seats is kept. Then the new set becomes the current one.
"""

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from tqdm import tqdm

from core.errors import InvalidInput
from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record
from seats.importers import shared_data_dir
from seats.models import BoundarySet, Postcode, PostcodeDistrict, Seat
from seats.postcodes import outcode_of
from seats.services import seat_effective_priority
from sessions.models import CanvassSession, MeetingPoint
from volunteers.models import Volunteer

# A successor is clear when it holds at least this share of the old seat's people (House of Commons Library
# "closest successor" table). Leeds North West's closest successor holds 50.1%: that is a split, not a successor.
CLEAR_SUCCESSOR_SHARE = 0.6
SUCCESSOR_FILES = {("2010", "2024"): "elections/boundary_changes_closest_successors_2010set_to_2024set.csv"}
BATCH = 2000


@dataclass(frozen=True)
class Successor:
    code: str
    share: float


@dataclass
class BoundaryMove:
    """What a move did (or, in a dry run, would do)."""

    from_set: str
    to_set: str
    dry_run: bool
    counts: Counter = field(default_factory=Counter)
    # (old seat, new seat) -> meeting points/sessions/volunteers moved between them
    seat_changes: Counter = field(default_factory=Counter)
    carried: list[dict] = field(default_factory=list)
    to_review: list[dict] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    switched: bool = False


def successors_read(path: Path) -> dict[str, Successor]:
    """{old seat code: its closest successor and the share of the old seat's people it holds}."""
    successors = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            share_key = next(key for key in row if key.lower().startswith("percentage of old"))
            successors[row["Current constituency code"].strip()] = Successor(
                row["Closest successor constituency code"].strip(), float(row[share_key]))
    return successors


class _SeatFinder:
    """The new set's seat for a postcode: the full postcode, else its district's main seat, else the clear
    successor of the old seat."""

    def __init__(self, to_set: str, successors: dict[str, Successor]):
        self.to_set = to_set
        self.successors = successors
        self.known = set(Seat.objects.in_set(to_set).values_list("pk", flat=True))
        self.districts = dict(PostcodeDistrict.objects.filter(boundary_set=to_set, seat__isnull=False)
                              .values_list("outcode", "seat_id"))
        self.postcodes: dict[str, str | None] = {}

    def load(self, postcodes: set[str]) -> None:
        missing = [p for p in postcodes if p and p not in self.postcodes]
        for start in range(0, len(missing), BATCH):
            chunk = missing[start:start + BATCH]
            found = dict(Postcode.objects.filter(boundary_set=self.to_set, postcode__in=chunk)
                         .values_list("postcode", "seat_id"))
            self.postcodes.update({p: found.get(p) for p in chunk})

    def successor(self, old: str | None) -> str | None:
        if old in self.known:
            return old  # a seat the review left unchanged
        successor = self.successors.get(old)
        return successor.code if successor and successor.share >= CLEAR_SUCCESSOR_SHARE else None

    def find(self, postcode: str, old: str | None) -> tuple[str | None, str]:
        seat = self.postcodes.get(postcode)
        if seat in self.known:
            return seat, "postcode"
        seat = self.districts.get(outcode_of(postcode)) if postcode else None
        if seat in self.known:
            return seat, "district"
        seat = self.successor(old)
        return (seat, "successor") if seat else (None, "unresolved")


def boundary_set_move(*, to_set: str, dry_run: bool = False, successors: Path | None = None, progress: bool = False,
                      now: datetime | None = None) -> BoundaryMove:
    """Move live data to the boundary set `to_set` and make it current; in a dry run, say what would change and
    change nothing. One transaction; idempotent (a second run finds nothing to move)."""
    target = BoundarySet.objects.filter(code=to_set).first()
    if target is None:
        raise InvalidInput(gettext("No boundary set %(code)s.") % {"code": to_set}, code="unknown_set",
                           fields={"set": [gettext("Unknown boundary set.")]})
    if not Seat.objects.in_set(to_set).exists() or not Postcode.objects.filter(boundary_set=to_set).exists():
        raise InvalidInput(gettext("Import the %(code)s seats and postcodes first (import_seats --set %(code)s, "
                                   "import_postcodes --set %(code)s).") % {"code": to_set}, code="set_not_imported",
                           fields={"set": [gettext("Not imported yet.")]})
    current = BoundarySet.objects.filter(is_current=True).values_list("code", flat=True).first() or to_set
    from_set = current if current != to_set else (
        BoundarySet.objects.filter(code__lt=to_set).order_by("-code").values_list("code", flat=True).first() or to_set)
    path = successors or (shared_data_dir() / SUCCESSOR_FILES[from_set, to_set]
                          if (from_set, to_set) in SUCCESSOR_FILES else None)
    if path is not None and not Path(path).is_file():
        raise InvalidInput(gettext("No successor file %(path)s.") % {"path": path}, code="bad_file",
                           fields={"successors": [gettext("No such file.")]})
    move = BoundaryMove(from_set=from_set, to_set=to_set, dry_run=dry_run)
    now = now or timezone.now()
    with transaction.atomic():
        list(BoundarySet.objects.select_for_update())  # one move at a time
        finder = _SeatFinder(to_set, successors_read(path) if path else {})
        points = _meeting_points_move(finder, move, progress)
        _sessions_move(finder, move, now, progress, points)
        _volunteers_move(finder, move, progress)
        _overrides_carry(finder, move)
        if current != to_set:
            BoundarySet.objects.filter(is_current=True).update(is_current=False)
            BoundarySet.objects.filter(code=to_set).update(is_current=True)
            move.switched = True
        if dry_run:
            transaction.set_rollback(True)
        else:
            # The audit log keeps what moved and, for coordinators, the overrides left to set by hand.
            action_record(actor=None, kind=CoordinatorAction.Kind.BOUNDARY_SET_MOVED,
                          params={"from_set": from_set, "to_set": to_set},
                          result={"counts": dict(move.counts), "carried": move.carried, "to_review": move.to_review,
                                  "unresolved": move.unresolved, "switched": move.switched})
    return move


def _bar(items, total: int, label: str, progress: bool):
    return tqdm(items, total=total, desc=label, unit=" rows", disable=not progress, leave=False)


def _meeting_points_move(finder: _SeatFinder, move: BoundaryMove, progress: bool) -> dict[int, tuple]:
    """Each meeting point's seat from its postcode; returns {pk: (old seat, new seat)} for the sessions."""
    points = list(MeetingPoint.objects.order_by("pk").values_list("pk", "postcode", "seat_id", "name"))
    finder.load({postcode for _, postcode, _, _ in points})
    changed, seats = [], {}
    for pk, postcode, old, name in _bar(points, len(points), "meeting points", progress):
        seat, how = finder.find(postcode, old)
        move.counts[f"meeting_points_by_{how}"] += 1
        if seat is None:
            move.unresolved.append(f"meeting point #{pk} {name!r} ({postcode}), seat {old}")
        seats[pk] = (old, seat)
        if seat != old:
            changed.append(MeetingPoint(pk=pk, seat_id=seat))
            move.seat_changes[old, seat] += 1
    MeetingPoint.objects.bulk_update(changed, ["seat"], batch_size=BATCH)
    move.counts["meeting_points_moved"] = len(changed)
    return seats


def _sessions_move(finder: _SeatFinder, move: BoundaryMove, now: datetime, progress: bool,
                   points: dict[int, tuple]) -> None:
    """Sessions that have not ended follow their meeting point; one the host put in another seat follows that
    seat's clear successor. Sessions that have ended keep their seat (the coverage history)."""
    sessions = list(CanvassSession.objects.filter(ends_at__gt=now).order_by("pk")
                    .values_list("pk", "seat_id", "meeting_point_id", "title"))
    changed = []
    for pk, old, point, title in _bar(sessions, len(sessions), "sessions", progress):
        if old in finder.known:
            continue  # already in the new set (a second run, or a seat the review left unchanged)
        point_old, point_new = points.get(point, (None, None))
        if old == point_old:
            seat = point_new or finder.successor(old)
        else:  # the host chose a seat other than the meeting point's
            seat = finder.successor(old)
            if seat is None:
                seat = point_new
                move.to_review.append({"from": old, "from_name": "", "to": seat, "to_name": "",
                                       "priority_override": None, "is_target": False,
                                       "reason": gettext("session #%(pk)s %(title)s: its seat has no clear "
                                                         "successor; put in its meeting point's seat")
                                       % {"pk": pk, "title": title}})
        if seat is None:
            move.unresolved.append(f"session #{pk} {title!r}, seat {old}")
            move.counts["sessions_unresolved"] += 1
            continue
        changed.append(CanvassSession(pk=pk, seat_id=seat))
        move.seat_changes[old, seat] += 1
    CanvassSession.objects.bulk_update(changed, ["seat"], batch_size=BATCH)
    move.counts["sessions_moved"] = len(changed)
    move.counts["sessions_kept_as_history"] = CanvassSession.objects.filter(ends_at__lte=now).count()


def _volunteers_move(finder: _SeatFinder, move: BoundaryMove, progress: bool) -> None:
    total = Volunteer.objects.count()
    rows = Volunteer.objects.order_by("pk").values_list("pk", "postcode", "seat_id").iterator(chunk_size=BATCH)
    changed, batch = [], []

    def flush() -> None:
        finder.load({postcode for _, postcode, _ in batch})
        for pk, postcode, old in batch:
            seat, how = finder.find(postcode, old)
            move.counts[f"volunteers_by_{how}"] += 1
            if seat != old:
                changed.append(Volunteer(pk=pk, seat_id=seat))
        batch.clear()
        if changed:
            Volunteer.objects.bulk_update(changed, ["seat"], batch_size=BATCH)
            move.counts["volunteers_moved"] += len(changed)
            changed.clear()

    for row in _bar(rows, total, "volunteers", progress):
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    finder.postcodes.clear()


def _overrides_carry(finder: _SeatFinder, move: BoundaryMove) -> None:
    """Carry each old seat's priority override and target flag to its clear successor; list the rest."""
    old_seats = list(Seat.objects.in_set(move.from_set).exclude(pk__in=finder.known)
                     .exclude(priority_override__isnull=True, is_target=False).order_by("pk"))
    wanted: dict[str, list[Seat]] = {}
    for old in old_seats:
        successor = finder.successor(old.pk)
        share = finder.successors.get(old.pk)
        if successor is None:
            move.to_review.append(_override_row(old, None, gettext("no clear successor") + (
                f" ({share.code}: {share.share:.0%})" if share else "")))
        else:
            wanted.setdefault(successor, []).append(old)
    targets = Seat.objects.select_for_update().in_bulk(list(wanted))
    for code, olds in sorted(wanted.items()):
        new = targets.get(code)
        settings = {(old.priority_override, old.is_target) for old in olds}
        if new is None:
            for old in olds:
                move.to_review.append(_override_row(old, None, gettext("successor %(code)s not imported") % {
                    "code": code}))
            continue
        if len(settings) > 1:
            for old in olds:
                move.to_review.append(_override_row(old, new, gettext("other old seats with other settings share "
                                                                      "this successor")))
            continue
        override, is_target = settings.pop()
        if (new.priority_override, new.is_target) == (override, is_target):
            move.counts["overrides_already_carried"] += len(olds)
            continue
        if new.priority_override is not None and new.priority_override != override:
            for old in olds:
                move.to_review.append(_override_row(old, new, gettext("the successor has its own override")))
            continue
        new.priority_override, new.is_target = override, is_target
        new.priority = seat_effective_priority(computed=new.computed_priority, override=override, is_target=is_target)
        new.save(update_fields=["priority_override", "is_target", "priority", "updated_at"])
        move.carried.extend(_override_row(old, new, "") for old in olds)


def _override_row(old: Seat, new: Seat | None, reason: str) -> dict:
    return {"from": old.pk, "from_name": old.name, "to": new.pk if new else None, "to_name": new.name if new else "",
            "priority_override": old.priority_override, "is_target": old.is_target, "reason": reason}
