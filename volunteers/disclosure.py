"""Metered disclosure: the one place that decides whether a booking shows its front room.

A front room is a supporter's home. Its exact address, the host's first name and the turf (streets) are shown
or sent only through front_room_disclose, which applies the booking's rules (a place confirmed or attended on a
slot not yet over, the host's approval if asked, the phone proven unless the message goes to that phone) and
then the meter: one phone (its volunteer) is shown at most DISCLOSURE_MAX_ROOMS_PER_DAY distinct rooms in a
rolling day and DISCLOSURE_MAX_ROOMS_PER_WEEK in a rolling week. A room the phone was shown before is shown
again freely. Past the meter the booking stands, shows the district only, and an open FrontRoomHold alerts the
coordinators and the host, either of whom can let the phone through for that room (front_room_release).
Every first showing is written to the ledger (FrontRoomDisclosure) in the same step, so harvesting addresses
by any path (swaps, new bookings, texts, emails, calendars) meets the same count.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidState, NotFound
from volunteers.models import Booking, FrontRoomDisclosure, FrontRoomHold

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
# A room shown again refreshes last_shown_at (what the retention purge reads) at most this often: no write per view.
_TOUCH_EVERY = timedelta(days=1)

# Inside the transaction that let a phone through for a room: tell the volunteer (notify.sms texts the address).
front_room_released = Signal()  # sender=FrontRoomHold, hold=FrontRoomHold, booking=Booking | None

SHOWING_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)
APPROVALS_SHOWN = (Booking.Approval.NOT_REQUIRED, Booking.Approval.APPROVED)


class Hidden:
    """Why a front room is not shown (FrontRoomShown.reason)."""

    AUTOMATIC = "automatic"  # a link preview or scanner opened the private link
    NOT_CONFIRMED = "not_confirmed"  # no confirmed place (waitlisted, cancelled, released, moved on)
    AWAITING_APPROVAL = "awaiting_approval"  # the host approves each volunteer and has not yet
    UNPROVEN = "unproven"  # the phone is not proven, and this is not a message to that phone
    ENDED = "ended"  # the slot is over
    AWAITING_RELEASE = "awaiting_release"  # past the meter: a coordinator or the host must let the phone through


@dataclass(frozen=True)
class FrontRoomShown:
    """What a booking may show of its front room: always the public district, the rest only when `shown`."""

    shown: bool
    district: str
    reason: str = ""
    place_name: str = ""
    address: str = ""
    postcode: str = ""
    host_first_name: str = ""
    turf: str = ""
    accessibility_notes: str = ""

    @property
    def held(self) -> bool:
        """Past the meter: an organiser will check and send the address."""
        return self.reason == Hidden.AWAITING_RELEASE

    @property
    def one_line(self) -> str:
        """The address and postcode on one line (texts, emails, calendars)."""
        return f"{' '.join(self.address.split())}, {self.postcode}" if self.shown else ""


def _delivered_to_phone(path: str) -> bool:
    # A text goes to the phone itself: whoever reads it holds the phone, so it needs no earlier proof.
    return path.startswith("sms.")


def _refused(booking: Booking, *, path: str, now: datetime, automatic: bool) -> str:
    if automatic:
        return Hidden.AUTOMATIC
    if booking.status not in SHOWING_STATUSES:
        return Hidden.NOT_CONFIRMED
    if booking.approval not in APPROVALS_SHOWN:
        return Hidden.AWAITING_APPROVAL
    if booking.proven_at is None and not _delivered_to_phone(path):
        return Hidden.UNPROVEN
    if booking.slot.ends_at <= now:
        return Hidden.ENDED
    return ""


def front_room_disclose(*, booking: Booking, path: str, now: datetime | None = None, automatic: bool = False,
                        known_rooms: frozenset[int] | None = None, phone_locked: bool = False) -> FrontRoomShown:
    """The front room of `booking` as `path` (page.manage, api.booking, sms.<kind>, email.<kind>, ics, feed.*)
    may show it: the booking's rules, then the meter. A first showing is recorded in the ledger; past the meter an
    open hold is recorded (idempotent: one per phone and room) and only the district is returned. A room shown
    before costs one indexed query and no write (none when `known_rooms`, front_rooms_known_to's answer for a
    list of the phone's bookings, names it); a booking its rules refuse costs none. `phone_locked`: the caller's
    transaction holds the volunteer row (front_room_meter)."""
    now = now or timezone.now()
    session = booking.slot.session
    reason = _refused(booking, path=path, now=now, automatic=automatic)
    known = known_rooms is not None and session.meeting_point_id in known_rooms
    if not reason and not known and not front_room_meter(
            volunteer_id=booking.volunteer_id, meeting_point_id=session.meeting_point_id, booking_id=booking.pk,
            path=path, now=now, phone_locked=phone_locked):
        reason = Hidden.AWAITING_RELEASE
    if reason:
        return FrontRoomShown(shown=False, district=session.postcode_district, reason=reason)
    return _room_shown(booking.slot)


def _counts(*, volunteer_id: int, meeting_point_id: int, now: datetime) -> dict:
    # One indexed read: this phone's rows first shown this week, and its row for this room whenever shown.
    return FrontRoomDisclosure.objects.filter(
        Q(first_shown_at__gte=now - WEEK) | Q(meeting_point_id=meeting_point_id), volunteer_id=volunteer_id,
    ).aggregate(known=Count("pk", filter=Q(meeting_point_id=meeting_point_id)),
                last=Max("last_shown_at", filter=Q(meeting_point_id=meeting_point_id)),
                day=Count("pk", filter=Q(first_shown_at__gte=now - DAY)),
                week=Count("pk", filter=Q(first_shown_at__gte=now - WEEK)))


def _touch(*, volunteer_id: int, meeting_point_id: int, last: datetime | None, path: str, now: datetime) -> None:
    if last is None or last < now - _TOUCH_EVERY:
        FrontRoomDisclosure.objects.filter(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id).update(
            last_shown_at=now, last_path=path[:40])


# The meter runs on the booking request and the proof, whose cost is benchmarked: its statements are written once
# here rather than compiled by the ORM on every call (the compilation cost more than the queries; bench/booking.py).
_KNOWN = "SELECT last_shown_at FROM volunteers_frontroomdisclosure WHERE volunteer_id = %s AND meeting_point_id = %s"
_LOCK = "SELECT id FROM volunteers_volunteer WHERE id = %s FOR UPDATE"


def _known(*, volunteer_id: int, meeting_point_id: int) -> tuple[bool, datetime | None]:
    if connection.vendor != "postgresql":  # SQLite hands raw datetimes back naive: the ORM converts them
        rows = list(FrontRoomDisclosure.objects.filter(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id)
                    .values_list("last_shown_at", flat=True))
        return (True, rows[0]) if rows else (False, None)
    # bench/request_cpu.py: the ledger written out cost 9.6 ms a proof against 14.6 ms built with the ORM
    # (BENCHMARKS.md "Safety checks").
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN, [volunteer_id, meeting_point_id])
        row = cursor.fetchone()
    return (True, row[0]) if row else (False, None)


def _phone_lock(volunteer_id: int) -> None:
    """Serialise the meter of one phone until the transaction ends: the volunteer row, which every booking change
    locks first too (so the booking paths, already holding it, wait for nothing and no lock order is reversed).
    SQLite, the embedded default, has no FOR UPDATE and runs one writer at a time."""
    if connection.vendor == "postgresql":
        # As _known: 9.6 against 14.6 ms a proof (BENCHMARKS.md "Safety checks").
        with connection.cursor() as cursor:
            cursor.execute(_LOCK, [volunteer_id])


# Count this phone's rooms and, if it may see one more, record this one: one statement on PostgreSQL (the booking
# request's code text and the proof's answer both pay for it, so it is kept to one round trip after the lock).
_COUNT_AND_RECORD = """
WITH mine AS (
    SELECT count(*) FILTER (WHERE meeting_point_id = %(point)s) AS known,
           max(last_shown_at) FILTER (WHERE meeting_point_id = %(point)s) AS last,
           count(*) FILTER (WHERE first_shown_at >= %(day)s) AS day,
           count(*) FILTER (WHERE first_shown_at >= %(week)s) AS week
    FROM volunteers_frontroomdisclosure
    WHERE volunteer_id = %(volunteer)s AND (first_shown_at >= %(week)s OR meeting_point_id = %(point)s)
), added AS (
    INSERT INTO volunteers_frontroomdisclosure
        (volunteer_id, meeting_point_id, first_path, last_path, first_shown_at, last_shown_at)
    SELECT %(volunteer)s, %(point)s, %(path)s, %(path)s, %(now)s, %(now)s FROM mine
    WHERE mine.known = 0 AND mine.day < %(per_day)s AND mine.week < %(per_week)s
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT mine.known, mine.last, (SELECT count(*) FROM added) FROM mine
"""


def _count_and_record(*, volunteer_id: int, meeting_point_id: int, path: str,
                      now: datetime) -> tuple[bool, bool, datetime | None]:
    """(shown, known before, last shown) for the phone and room, the showing recorded if allowed. Call it with the
    phone locked."""
    per_day, per_week = settings.DISCLOSURE_MAX_ROOMS_PER_DAY, settings.DISCLOSURE_MAX_ROOMS_PER_WEEK
    if connection.vendor == "postgresql":
        # As _known: 9.6 against 14.6 ms a proof (BENCHMARKS.md "Safety checks").
        with connection.cursor() as cursor:
            cursor.execute(_COUNT_AND_RECORD, {
                "volunteer": volunteer_id, "point": meeting_point_id, "path": path[:40], "now": now,
                "day": now - DAY, "week": now - WEEK, "per_day": per_day, "per_week": per_week})
            known, last, added = cursor.fetchone()
        return bool(known or added), bool(known), last
    counts = _counts(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id, now=now)
    if counts["known"]:
        return True, True, counts["last"]
    if counts["day"] >= per_day or counts["week"] >= per_week:
        return False, False, None
    FrontRoomDisclosure.objects.bulk_create([FrontRoomDisclosure(
        volunteer_id=volunteer_id, meeting_point_id=meeting_point_id, first_path=path[:40], last_path=path[:40],
        first_shown_at=now, last_shown_at=now)], ignore_conflicts=True)
    return True, False, None


def front_room_meter(*, volunteer_id: int, meeting_point_id: int, path: str, now: datetime | None = None,
                     booking_id: int | None = None, phone_locked: bool = False) -> bool:
    """Whether the phone may be shown this room now; True records the showing, False records an open hold.
    Race-safe: a new room is counted and written under the phone's lock (the volunteer row), so two concurrent
    requests from one phone for two rooms never both take the last allowance. A room shown before costs one read
    and no lock. `phone_locked`: the caller's transaction holds the volunteer row lock already (a booking request
    writing its code text: volunteer_get_or_create locked it), so one statement does it all."""
    now = now or timezone.now()
    if not phone_locked:
        known, last = _known(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id)
        if known:
            _touch(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id, last=last, path=path, now=now)
            return True
    with transaction.atomic(savepoint=False):
        if not phone_locked:
            _phone_lock(volunteer_id)
        shown, known, last = _count_and_record(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id,
                                               path=path, now=now)
        if known:
            _touch(volunteer_id=volunteer_id, meeting_point_id=meeting_point_id, last=last, path=path, now=now)
        elif not shown:
            # One open hold per phone and room (the partial unique key): the coordinators' alert.
            FrontRoomHold.objects.bulk_create([FrontRoomHold(
                volunteer_id=volunteer_id, meeting_point_id=meeting_point_id, booking_id=booking_id, path=path[:40])],
                ignore_conflicts=True)
    return shown


def front_rooms_known_to(*, volunteer_id: int) -> frozenset[int]:
    """The meeting points this phone was shown before (one query, for a list of its bookings)."""
    return frozenset(FrontRoomDisclosure.objects.filter(volunteer_id=volunteer_id)
                     .values_list("meeting_point_id", flat=True))


def front_rooms_known(*, meeting_point_id: int, volunteer_ids: list[int]) -> set[int]:
    """Which of these volunteers were shown this room before (one query, for texts to a whole slot)."""
    return set(FrontRoomDisclosure.objects.filter(meeting_point_id=meeting_point_id, volunteer_id__in=volunteer_ids)
               .values_list("volunteer_id", flat=True))


def _room_shown(slot) -> FrontRoomShown:
    session = slot.session
    point = session.meeting_point
    return FrontRoomShown(shown=True, district=session.postcode_district, place_name=point.name,
                          address=point.address, postcode=point.postcode, host_first_name=point.host_first_name,
                          turf=slot.turf, accessibility_notes=point.accessibility_notes)


def front_rooms_disclose_slot(*, slot, volunteer_ids: list[int], booking_ids: list[int], path: str,
                              assigned: bool = False, now: datetime | None = None) -> list[FrontRoomShown]:
    """front_room_disclose for texts to many confirmed places of one slot (reminders, promotions, an assignment
    commit), in order: one query for the phones shown the room before, the meter for the others. Places an
    assignment run gave (`assigned`) were chosen by a coordinator, not the phone: they are recorded in one
    statement, as a release would, without the meter."""
    now = now or timezone.now()
    session = slot.session
    if slot.ends_at <= now:
        return [FrontRoomShown(shown=False, district=session.postcode_district, reason=Hidden.ENDED)] * len(volunteer_ids)
    room = _room_shown(slot)
    point_id = session.meeting_point_id
    if assigned:
        FrontRoomDisclosure.objects.bulk_create(
            [FrontRoomDisclosure(volunteer_id=volunteer_id, meeting_point_id=point_id, first_path=path[:40],
                                 last_path=path[:40], first_shown_at=now, last_shown_at=now)
             for volunteer_id in sorted(set(volunteer_ids))], ignore_conflicts=True)
        return [room] * len(volunteer_ids)
    known = front_rooms_known(meeting_point_id=point_id, volunteer_ids=volunteer_ids)
    held = FrontRoomShown(shown=False, district=session.postcode_district, reason=Hidden.AWAITING_RELEASE)
    return [room if volunteer_id in known or front_room_meter(
        volunteer_id=volunteer_id, meeting_point_id=point_id, booking_id=booking_id, path=path, now=now) else held
        for volunteer_id, booking_id in zip(volunteer_ids, booking_ids, strict=True)]


@transaction.atomic
def front_room_release(*, hold_id: int, user, meeting_point_ids=None) -> FrontRoomHold:
    """Let a phone through past the meter for one room (a coordinator, or the host when `meeting_point_ids`
    names the rooms they may release): the hold is closed and the room recorded as shown, so every path shows it
    from now on. Idempotent: releasing a released hold changes nothing. NotFound for a hold not theirs."""
    holds = FrontRoomHold.objects.select_for_update().filter(pk=hold_id)
    if meeting_point_ids is not None:
        holds = holds.filter(meeting_point_id__in=meeting_point_ids)
    hold = holds.first()
    if hold is None:
        raise NotFound(gettext("No such held address."))
    if hold.released_at is not None:
        return hold
    now = timezone.now()
    hold.released_at, hold.released_by = now, user
    hold.save(update_fields=["released_at", "released_by"])
    FrontRoomDisclosure.objects.get_or_create(
        volunteer_id=hold.volunteer_id, meeting_point_id=hold.meeting_point_id,
        defaults={"first_path": "release", "last_path": "release", "first_shown_at": now, "last_shown_at": now,
                  "released_by": user})
    # The place the phone holds in that room now (it may have moved since the hold opened), if still to come.
    booking = (Booking.objects.filter(volunteer_id=hold.volunteer_id, status__in=SHOWING_STATUSES,
                                      slot__session__meeting_point_id=hold.meeting_point_id, slot__ends_at__gt=now)
               .select_related("volunteer", "slot__session__meeting_point", "slot__session__seat")
               .order_by("slot__starts_at", "pk").first())
    front_room_released.send(sender=FrontRoomHold, hold=hold, booking=booking)
    return hold


def front_room_release_for_booking(*, booking_id: int, user, meeting_point_ids) -> FrontRoomHold:
    """The host lets a booking on their session through: its phone's open hold for the booking's room."""
    booking = Booking.objects.select_related("slot__session").filter(
        pk=booking_id, slot__session__meeting_point_id__in=meeting_point_ids).first()
    if booking is None:
        raise NotFound(gettext("No such booking."))
    hold = FrontRoomHold.objects.filter(volunteer_id=booking.volunteer_id, released_at__isnull=True,
                                        meeting_point_id=booking.slot.session.meeting_point_id).first()
    if hold is None:
        raise InvalidState(gettext("This booking's address is not held back."), code="not_held")
    return front_room_release(hold_id=hold.pk, user=user, meeting_point_ids=meeting_point_ids)


def front_room_holds_open():
    """The coordinators' alerts: open holds, newest first, with the phone and room (for a masked list)."""
    return (FrontRoomHold.objects.filter(released_at__isnull=True)
            .select_related("volunteer", "meeting_point", "booking__slot__session")
            .annotate(shown_count=Count("volunteer__front_rooms_shown")).order_by("-created_at", "-id"))


def front_room_held_bookings(*, booking_ids) -> set[int]:
    """Which of these bookings (a host's roster) have their phone's address held back: one query."""
    return set(Booking.objects.filter(pk__in=list(booking_ids)).filter(
        volunteer__front_rooms_held__released_at__isnull=True,
        volunteer__front_rooms_held__meeting_point_id=F("slot__session__meeting_point_id"),
    ).values_list("pk", flat=True))


def front_room_phones_shown(*, meeting_point_id: int) -> int:
    """How many distinct phones have been shown this front room (the host's page says so)."""
    return FrontRoomDisclosure.objects.filter(meeting_point_id=meeting_point_id).count()


def disclosures_purge(sender, *, cutoff: datetime, dry_run: bool = False, **kwargs) -> dict[str, int]:
    """core.retention receiver: ledger rows last shown, and holds opened, before the cutoff."""
    from core.retention import rows_older_purge

    return {
        "front room disclosures": rows_older_purge(
            FrontRoomDisclosure.objects.filter(last_shown_at__lt=cutoff), dry_run=dry_run),
        "front room holds": rows_older_purge(FrontRoomHold.objects.filter(created_at__lt=cutoff), dry_run=dry_run),
    }
