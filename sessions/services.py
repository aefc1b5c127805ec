"""Writes and rules for meeting points, canvass sessions and slots."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, ProtectedError
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import Conflict, InvalidInput, InvalidState, NotFound, PermissionDenied
from seats.geocoding import postcode_locate
from seats.models import Seat
from seats.postcodes import outcode_of
from seats.scopes import seat_scope_for
from sessions.locations import public_point_draw
from sessions.models import CanvassSession, MeetingPoint, Slot
from sessions.signals import (
    meeting_point_moved,
    session_approval_dropped,
    session_cancelled,
    slot_capacity_raised,
    slot_places_changed,
    slot_removed,
    slot_rescheduled,
)
from sessions.vetting import session_needs_review

MEETING_POINT_FIELDS = ("name", "address", "postcode", "capacity", "accessibility_notes", "host_first_name", "host_phone",
                        "is_active")


def meeting_point_managed_by(*, user, meeting_point: MeetingPoint) -> bool:
    """Hosts manage their own meeting points and the sessions there; coordinators (staff) manage all, a regional
    organiser those in their seats (seats.scopes)."""
    if not user.is_authenticated:
        return False
    if meeting_point.host_id == user.pk:
        return True
    return bool(user.is_staff and seat_scope_for(user).allows(meeting_point.seat_id))


def _require_owner(*, user, meeting_point: MeetingPoint) -> None:
    if not meeting_point_managed_by(user=user, meeting_point=meeting_point):
        raise PermissionDenied(gettext("You can only manage your own meeting points and sessions."))


@transaction.atomic
def meeting_point_create(*, host, name: str, address: str, postcode: str, capacity: int,
                         accessibility_notes: str = "", host_first_name: str = "", host_phone: str = "",
                         is_active: bool = True) -> MeetingPoint:
    """Create a front room for `host`, geocoding its postcode (InvalidInput if unknown). An inactive room
    takes no new sessions."""
    location = postcode_locate(postcode, exact=True)  # a room needs its exact place, not a district's centre
    # A point of this room's own, even where another room has the same postcode: a shared point would tell
    # whoever opens a room at a postcode whether, and where, somebody else hosts there.
    public_lat, public_lng = public_point_draw(lat=location.lat, lng=location.lng)
    return MeetingPoint.objects.create(
        host=host, name=name, address=address, postcode=location.postcode, lat=location.lat, lng=location.lng,
        public_lat=public_lat, public_lng=public_lng,
        seat_id=location.seat_id, capacity=capacity, accessibility_notes=accessibility_notes,
        host_first_name=host_first_name or host.first_name or host.username, host_phone=host_phone,
        is_active=is_active,
    )


@transaction.atomic
def meeting_point_update(*, user, meeting_point: MeetingPoint, **changes) -> MeetingPoint:
    """Edit a meeting point; a new postcode is geocoded, gets a new public point and the seat it belongs to, and
    both are copied to its upcoming sessions (bar a seat a coordinator chose). A new address or
    postcode is announced (meeting_point_moved): volunteers booked there are told where to go now."""
    _require_owner(user=user, meeting_point=meeting_point)
    unknown = set(changes) - set(MEETING_POINT_FIELDS)
    if unknown:
        raise InvalidInput(gettext("Cannot change %(names)s.") % {"names": ', '.join(sorted(unknown))}, fields={k: ["Not editable."] for k in unknown})
    if "postcode" in changes:
        location = postcode_locate(changes["postcode"], exact=True)
        changes.update(postcode=location.postcode, lat=location.lat, lng=location.lng, seat_id=location.seat_id)
        if location.postcode != meeting_point.postcode:
            changes["public_lat"], changes["public_lng"] = public_point_draw(lat=location.lat, lng=location.lng)
    moved = any(changes.get(field, getattr(meeting_point, field)) != getattr(meeting_point, field)
                for field in ("address", "postcode"))
    for field, value in changes.items():
        setattr(meeting_point, field, value)
    meeting_point.save()
    if "postcode" in changes:
        upcoming = CanvassSession.objects.filter(meeting_point=meeting_point, ends_at__gt=timezone.now())
        upcoming.update(lat=meeting_point.public_lat, lng=meeting_point.public_lng,
                        postcode_district=outcode_of(meeting_point.postcode),
                        updated_at=timezone.now())  # a new version: link previews and the host's feed show it
        if meeting_point.seat_id is not None:
            upcoming.filter(seat_set_by__isnull=True).exclude(seat_id=meeting_point.seat_id).update(
                seat_id=meeting_point.seat_id)
    if moved:
        meeting_point_moved.send(sender=MeetingPoint, meeting_point=meeting_point)
    return meeting_point


def _resolve_seat(*, user, seat_code: str | None, meeting_point: MeetingPoint,
                  current: Seat | None = None) -> tuple[Seat, object | None]:
    """The session's seat and the coordinator who chose it (None: the seat the room's postcode belongs to). Only
    coordinators may choose another: a host labelling a Croydon room as a marginal seat elsewhere would rank it
    first for that seat's volunteers."""
    derived = meeting_point.seat
    if not seat_code:
        if derived is None:
            raise InvalidInput(
                gettext("The meeting point's postcode has no seat; an organiser has to set it."),
                code="seat_required", fields={"seat": [gettext("Ask an organiser to set the seat.")]},
            )
        return derived, None
    seat = Seat.objects.current().filter(pk=seat_code.strip().upper()).first()
    if seat is None:
        raise InvalidInput(gettext("Unknown seat %(seat_code)s.") % {"seat_code": seat_code}, code="unknown_seat",
                           fields={"seat": [gettext("Unknown ONS code.")]})
    if derived is not None and seat.pk == derived.pk:
        return seat, None
    if user.is_staff:
        return seat, user
    if current is not None and seat.pk == current.pk:
        return seat, False  # unchanged: whatever set it stays
    raise InvalidInput(
        gettext("The seat comes from the meeting point's postcode; only an organiser can change it."),
        code="seat_not_choosable",
        fields={"seat": [gettext("Set by the postcode (%(seat)s).") % {"seat": derived.name if derived else "-"}]},
    )


def _validate_slots(*, slots: list[dict], meeting_point: MeetingPoint, now: datetime) -> None:
    if not slots:
        raise InvalidInput(gettext("A session needs at least one slot."), fields={"slots": [gettext("At least one slot is required.")]})
    for index, slot in enumerate(slots):
        prefix = f"slots.{index}"
        if slot["ends_at"] <= slot["starts_at"]:
            raise InvalidInput(gettext("A slot must end after it starts."), code="date_order", fields={f"{prefix}.ends_at": [gettext("Must be after starts_at.")]})
        if slot["starts_at"] <= now:
            raise InvalidInput(gettext("Slots must start in the future."), code="in_the_past", fields={f"{prefix}.starts_at": [gettext("Must be in the future.")]})
        if slot["capacity"] > meeting_point.capacity:
            raise InvalidInput(
                gettext("A slot cannot hold more people than the room (%(capacity)s).") % {"capacity": meeting_point.capacity},
                code="over_room_capacity",
                fields={f"{prefix}.capacity": [gettext("At most %(capacity)s, the room's capacity.") % {"capacity": meeting_point.capacity}]},
            )


def _refresh_session_span(session: CanvassSession) -> None:
    times = list(session.slots.values_list("starts_at", "ends_at"))
    session.starts_at = min(start for start, _ in times)
    session.ends_at = max(end for _, end in times)


@transaction.atomic
def session_create(*, user, meeting_point: MeetingPoint, title: str, slots: list[dict], seat_code: str | None = None,
                   description: str = "", what_to_bring: str | None = None,
                   requires_approval: bool = False, confirm_required: bool = False) -> CanvassSession:
    """Publish a session with its slots in one transaction, in the seat its meeting point's postcode belongs to
    (a coordinator may give another). A host not yet trusted (sessions.vetting) gets it in review, seen by nobody
    else until an organiser approves it. With requires_approval the host approves each volunteer before the
    address is released to them."""
    _require_owner(user=user, meeting_point=meeting_point)
    if not meeting_point.is_active:
        raise InvalidState(gettext("This meeting point is no longer active."), fields={"meeting_point": [gettext("Inactive.")]})
    seat, seat_set_by = _resolve_seat(user=user, seat_code=seat_code, meeting_point=meeting_point)
    if len(slots) > settings.MAX_SLOTS_PER_SESSION:
        raise InvalidInput(gettext("A session has at most %(max_slots_per_session)s slots.") % {"max_slots_per_session": settings.MAX_SLOTS_PER_SESSION}, code="too_many_slots",
                           fields={"slots": [gettext("At most %(max_slots_per_session)s.") % {"max_slots_per_session": settings.MAX_SLOTS_PER_SESSION}]})
    _validate_slots(slots=slots, meeting_point=meeting_point, now=timezone.now())
    session = CanvassSession(
        meeting_point=meeting_point, seat=seat, seat_set_by=seat_set_by or None, title=title, description=description,
        status=(CanvassSession.Status.REVIEW if session_needs_review(user=user, meeting_point=meeting_point)
                else CanvassSession.Status.PUBLISHED),
        lat=meeting_point.public_lat, lng=meeting_point.public_lng, postcode_district=outcode_of(meeting_point.postcode),
        starts_at=min(s["starts_at"] for s in slots), ends_at=max(s["ends_at"] for s in slots),
        requires_approval=requires_approval, confirm_required=confirm_required,
    )
    if what_to_bring is not None:
        session.what_to_bring = what_to_bring
    session.save()
    Slot.objects.bulk_create(
        Slot(session=session, starts_at=s["starts_at"], ends_at=s["ends_at"], capacity=s["capacity"], turf=s.get("turf", ""))
        for s in slots
    )
    return session


def _editable_session(*, user, session_id: int) -> CanvassSession:
    session = CanvassSession.objects.select_for_update().select_related("meeting_point").filter(pk=session_id).first()
    if session is None:
        raise NotFound(gettext("No such session."))
    _require_owner(user=user, meeting_point=session.meeting_point)
    return session


@transaction.atomic
def session_update(*, user, session_id: int, title: str | None = None, description: str | None = None,
                   what_to_bring: str | None = None, seat_code: str | None = None,
                   new_slots: Iterable[dict] = (), requires_approval: bool | None = None,
                   confirm_required: bool | None = None) -> CanvassSession:
    """Edit a session's details and add slots; cancelled sessions cannot be edited. Turning requires_approval
    on applies to bookings made from then on; turning it off approves, in the same transaction, the bookings
    still waiting for approval (session_approval_dropped: each is texted, as a host's approval is)."""
    session = _editable_session(user=user, session_id=session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        raise InvalidState(gettext("This session has been cancelled."), code="session_cancelled")
    approval_dropped = session.requires_approval and requires_approval is False
    for field, value in (("title", title), ("description", description), ("what_to_bring", what_to_bring),
                         ("requires_approval", requires_approval), ("confirm_required", confirm_required)):
        if value is not None:
            setattr(session, field, value)
    if seat_code is not None:
        seat, seat_set_by = _resolve_seat(user=user, seat_code=seat_code, meeting_point=session.meeting_point,
                                          current=session.seat)
        if seat_set_by is not False:
            session.seat, session.seat_set_by = seat, seat_set_by
    new_slots = list(new_slots)
    if new_slots:
        limit = settings.MAX_SLOTS_PER_SESSION
        if session.slots.count() + len(new_slots) > limit:
            raise InvalidInput(gettext("A session has at most %(limit)s slots.") % {"limit": limit}, code="too_many_slots",
                               fields={"add_slots": [gettext("At most %(limit)s slots in a session, counting those it has.") % {"limit": limit}]})
        _validate_slots(slots=new_slots, meeting_point=session.meeting_point, now=timezone.now())
        Slot.objects.bulk_create(
            Slot(session=session, starts_at=s["starts_at"], ends_at=s["ends_at"], capacity=s["capacity"],
                 turf=s.get("turf", ""))
            for s in new_slots
        )
        _refresh_session_span(session)
    session.save()
    if approval_dropped:
        session_approval_dropped.send(sender=CanvassSession, session=session, by=user)
    return session


@transaction.atomic
def slot_update(*, user, slot_id: int, capacity: int | None = None, turf: str | None = None) -> Slot:
    """Change a slot's capacity (never below its confirmed bookings) or turf; more room may promote the waitlist."""
    slot = Slot.objects.select_for_update().select_related("session__meeting_point").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(gettext("No such slot."))
    _require_owner(user=user, meeting_point=slot.session.meeting_point)
    if capacity is not None:
        if capacity < slot.confirmed_count:
            raise Conflict(
                gettext("%(confirmed_count)s volunteers are already confirmed; cancel bookings before reducing capacity.") % {"confirmed_count": slot.confirmed_count},
                code="capacity_below_confirmed", fields={"capacity": [gettext("At least %(confirmed_count)s.") % {"confirmed_count": slot.confirmed_count}]},
            )
        if capacity > slot.session.meeting_point.capacity:
            raise InvalidInput(gettext("A slot cannot hold more people than the room."), code="over_room_capacity",
                               fields={"capacity": [gettext("At most %(capacity)s.") % {"capacity": slot.session.meeting_point.capacity}]})
        raised = capacity > slot.capacity
        slot.capacity = capacity
    else:
        raised = False
    if turf is not None:
        slot.turf = turf
    slot.save()
    if raised:
        slot_capacity_raised.send(sender=Slot, slot=slot)
    return slot


@transaction.atomic
def slot_reschedule(*, user, slot_id: int, starts_at: datetime, ends_at: datetime) -> Slot:
    """Move a slot that has not started to new future times. A real change is announced (slot_rescheduled), so
    volunteers booked on it are texted the new time; the same times again change nothing."""
    slot = Slot.objects.select_for_update().select_related("session__meeting_point").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(gettext("No such slot."))
    _require_owner(user=user, meeting_point=slot.session.meeting_point)
    if slot.session.status == CanvassSession.Status.CANCELLED:
        raise InvalidState(gettext("This session has been cancelled."), code="session_cancelled")
    if (starts_at, ends_at) == (slot.starts_at, slot.ends_at):
        return slot
    now = timezone.now()
    if slot.starts_at <= now:
        raise InvalidState(gettext("A slot that has started cannot be moved."), code="slot_started",
                           fields={"starts_at": [gettext("Already started.")]})
    if ends_at <= starts_at:
        raise InvalidInput(gettext("A slot must end after it starts."), code="date_order", fields={"ends_at": [gettext("Must be after starts_at.")]})
    if starts_at <= now:
        raise InvalidInput(gettext("Slots must start in the future."), code="in_the_past", fields={"starts_at": [gettext("Must be in the future.")]})
    slot.starts_at, slot.ends_at = starts_at, ends_at
    slot.save(update_fields=["starts_at", "ends_at"])
    session = slot.session
    _refresh_session_span(session)
    session.save(update_fields=["starts_at", "ends_at", "updated_at"])
    slot_rescheduled.send(sender=Slot, slot=slot)
    return slot


@transaction.atomic
def slot_remove(*, user, slot_id: int) -> Slot:
    """Take a slot that has not started out of its session. A slot nobody ever booked is deleted; one with bookings
    (kept for their history) is marked removed and announced (slot_removed): volunteers cancels its active bookings
    in this transaction, each volunteer told as for a cancelled session. InvalidState for a started slot, a
    cancelled session or the session's last slot (cancel the session instead). Removing it again changes nothing."""
    slot = Slot.all_objects.select_for_update().select_related("session__meeting_point").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(gettext("No such slot."))
    _require_owner(user=user, meeting_point=slot.session.meeting_point)
    if slot.removed_at is not None:
        return slot
    session = CanvassSession.objects.select_for_update().get(pk=slot.session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        raise InvalidState(gettext("This session has been cancelled."), code="session_cancelled")
    if slot.starts_at <= timezone.now():
        raise InvalidState(gettext("A slot that has started cannot be removed."), code="slot_started",
                           fields={"slot": [gettext("Already started: it stays.")]})
    if not session.slots.exclude(pk=slot.pk).exists():
        raise InvalidState(gettext("A session needs at least one slot: cancel the session instead."),
                           code="last_slot", fields={"slot": [gettext("The only slot: cancel the session instead.")]})
    try:
        with transaction.atomic():
            slot.delete()
    except ProtectedError:  # booked at some time: kept, out of every list, its bookings cancelled
        slot.removed_at = timezone.now()
        slot.confirmed_count = 0
        slot.save(update_fields=["removed_at", "confirmed_count"])
        slot_removed.send(sender=Slot, slot=slot, removed_by=user)
    _refresh_session_span(session)
    session.save(update_fields=["starts_at", "ends_at", "updated_at"])
    return slot


def _same_wall_clock(moment: datetime, days: int) -> datetime:
    # Shift by calendar days in local time, so 10:00 stays 10:00 across a clock change.
    local = timezone.localtime(moment)
    return timezone.make_aware(datetime.combine(local.date() + timedelta(days=days), local.time()))


@transaction.atomic
def session_copy(*, user, session_id: int, new_date: date) -> CanvassSession:
    """A new session at the same meeting point, its first slot's day moved to `new_date` and every slot shifted by
    as many days at the same local times; same details and turf, no bookings. Each call makes a new session."""
    from sessions.selectors import session_managed

    original = session_managed(user=user, session_id=session_id)
    slots = list(original.slots.order_by("starts_at", "id"))
    if not slots:
        raise InvalidState(gettext("This session has no slots to copy."), code="no_slots")
    days = (new_date - timezone.localtime(slots[0].starts_at).date()).days
    copy = session_create(
        user=user, meeting_point=original.meeting_point, title=original.title,
        description=original.description, what_to_bring=original.what_to_bring,
        slots=[{"starts_at": _same_wall_clock(slot.starts_at, days), "ends_at": _same_wall_clock(slot.ends_at, days),
                "capacity": min(slot.capacity, original.meeting_point.capacity), "turf": slot.turf} for slot in slots],
    )
    # A seat a coordinator chose is kept; otherwise the room's postcode decides, as for any new session.
    if original.seat_set_by_id and copy.seat_id != original.seat_id:
        copy.seat_id, copy.seat_set_by_id = original.seat_id, original.seat_set_by_id
        copy.save(update_fields=["seat", "seat_set_by", "updated_at"])
    return copy


COPIES_MAX = 12  # copies of a session made at once: a season of Saturdays, not a flood of sessions


@transaction.atomic
def session_copies_create(*, user, session_id: int, dates: list[date]) -> list[CanvassSession]:
    """A copy of the session (session_copy) on each of `dates`, all or none: InvalidInput naming `dates.<i>` (the
    i-th date given) for the first date refused, or `dates` for more than COPIES_MAX. The same date twice makes
    one copy."""
    dates = list(dict.fromkeys(dates))
    if not dates:
        raise InvalidInput(gettext("Choose at least one date."), code="no_dates", fields={"dates": [gettext("Required.")]})
    if len(dates) > COPIES_MAX:
        raise InvalidInput(gettext("At most %(limit)s copies at once.") % {"limit": COPIES_MAX}, code="too_many_copies",
                           fields={"dates": [gettext("At most %(limit)s.") % {"limit": COPIES_MAX}]})
    copies = []
    for index, day in enumerate(dates):
        try:
            copies.append(session_copy(user=user, session_id=session_id, new_date=day))
        except (InvalidInput, InvalidState) as error:
            raise type(error)(error.message, code=error.code, fields={f"dates.{index}": [error.message]}) from error
    return copies


@transaction.atomic
def session_cancel(*, user, session_id: int) -> CanvassSession:
    """Cancel a session and (via the session_cancelled signal) all its bookings. Idempotent."""
    session = _editable_session(user=user, session_id=session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        return session
    session.status = CanvassSession.Status.CANCELLED
    session.cancelled_at = timezone.now()
    session.save(update_fields=["status", "cancelled_at", "updated_at"])
    session_cancelled.send(sender=CanvassSession, session=session, cancelled_by=user)
    Slot.objects.filter(session=session).update(confirmed_count=0)
    return session


def slot_claim_place(*, slot_id: int, places: int = 1) -> bool:
    """Take `places` confirmed places (a party's, all or nothing) if the slot has room for all of them, its overbook
    allowance included. The conditional UPDATE is the overbooking guard."""
    # bench/sql_vs_orm.py slot_claim_place: the ORM's filter().update() cost 4.8x this statement's CPU, on every place
    # taken (BENCHMARKS.md "Hand-written statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Slot._meta.db_table} SET confirmed_count = confirmed_count + %s "
                       "WHERE id = %s AND confirmed_count + %s <= capacity + overbook", [places, slot_id, places])
        claimed = cursor.rowcount == 1
    if claimed:
        slot_places_changed.send(sender=Slot, slot_ids=[slot_id])
    return claimed


def slot_release_place(*, slot_id: int, places: int = 1) -> None:
    """Give back `places` confirmed places (never below zero)."""
    if Slot.objects.filter(pk=slot_id, confirmed_count__gt=0).update(
            confirmed_count=Greatest(F("confirmed_count") - places, 0)):
        slot_places_changed.send(sender=Slot, slot_ids=[slot_id])


def slot_is_bookable(slot: Slot, *, now: datetime | None = None) -> None:
    """Raise InvalidState if the slot's session is cancelled or the slot has started; NotFound if its host removed
    it or the session is not published."""
    now = now or timezone.now()
    if slot.removed_at is not None:  # read by raw statements too, which the default manager does not filter
        raise NotFound(gettext("No such slot."), code="not_found", fields={"slot": [gettext("Unknown slot.")]})
    if slot.session.status == CanvassSession.Status.CANCELLED:
        raise InvalidState(gettext("This session has been cancelled."), code="session_cancelled", fields={"slot": [gettext("Cancelled.")]})
    if slot.session.status != CanvassSession.Status.PUBLISHED:
        raise NotFound(gettext("No such slot."), code="not_found", fields={"slot": [gettext("Unknown slot.")]})
    if slot.starts_at <= now:
        raise InvalidState(gettext("This slot has already started."), code="slot_in_past", fields={"slot": [gettext("Already started.")]})
