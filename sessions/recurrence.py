"""Recurring sessions (issue 25; docs/pages-hosts.md, "Repeat a session"): a host repeats a session weekly until a
day, or on chosen dates. Each occurrence is a session of its own (a copy: sessions.services.session_copy, same
meeting point, details, slots at the same local times, no bookings), all linked by one `series` id, so that an
edit can be made to "this session" or "this and later ones".

An edit to later ones carries the session's details (title, description, what to bring, host approval, confirm
or release) to every later occurrence of the series that is not cancelled. Slots are never changed by it: each
occurrence keeps its own slots, times and capacities, so no booking is moved, shrunk or dropped by a series edit
(a host changes one occurrence's slots on that occurrence).
"""

import uuid
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, InvalidState
from sessions.models import CanvassSession
from sessions.selectors import session_managed
from sessions.services import COPIES_MAX, session_copies_create, session_update


def repeat_dates(*, session: CanvassSession, dates: list[date] | None = None, weekly_until: date | None = None,
                 today: date | None = None) -> list[date]:
    """The days to repeat `session` on: every week from a week after its own day until `weekly_until`, and `dates`.
    InvalidInput naming the field (`weekly_until`, `dates`, or `dates.<i>` for the i-th date) for a day that has
    passed, a date given twice, a day the series has a session on already, or more than COPIES_MAX in all."""
    today = today or timezone.localdate()
    first_day = timezone.localtime(session.starts_at).date()
    dates = list(dates or [])
    if weekly_until is None and not dates:
        raise InvalidInput(gettext("Choose an end date for weekly repeats, or at least one date."), code="no_dates",
                           fields={"weekly_until": [gettext("Or give dates.")], "dates": [gettext("Or give an end date.")]})
    taken = set(_series_days(session)) | {first_day}
    chosen: list[date] = []
    if weekly_until is not None:
        if weekly_until <= first_day:
            raise InvalidInput(gettext("Choose a day after the session's own date."), code="until_too_early",
                               fields={"weekly_until": [gettext("After %(day)s.") % {"day": first_day.isoformat()}]})
        day = first_day + timedelta(days=7)
        while day <= weekly_until and len(chosen) <= COPIES_MAX:
            if day >= today and day not in taken:
                chosen.append(day)
            day += timedelta(days=7)
    for index, day in enumerate(dates):
        field = f"dates.{index}"
        if day < today:
            raise InvalidInput(gettext("That day has passed: choose today or a later day."), code="in_the_past",
                               fields={field: [gettext("In the past.")]})
        if day in dates[:index]:
            raise InvalidInput(gettext("The same date is given twice."), code="duplicate_date",
                               fields={field: [gettext("Given twice.")]})
        if day in taken:
            raise InvalidInput(gettext("This session already happens on that day."), code="date_taken",
                               fields={field: [gettext("The series has a session that day.")]})
        if day not in chosen:
            chosen.append(day)
    if not chosen:
        raise InvalidInput(gettext("Every week until that day is taken already or has passed."), code="no_dates",
                           fields={"weekly_until": [gettext("No new dates.")]})
    if len(chosen) > COPIES_MAX:
        field = "weekly_until" if weekly_until is not None else "dates"
        raise InvalidInput(gettext("At most %(limit)s repeats at once.") % {"limit": COPIES_MAX},
                           code="too_many_copies", fields={field: [gettext("At most %(limit)s.") % {"limit": COPIES_MAX}]})
    return sorted(chosen)


def _series_days(session: CanvassSession) -> list[date]:
    if session.series is None:
        return []
    return [timezone.localtime(start).date() for start in CanvassSession.objects.filter(
        series=session.series).exclude(status=CanvassSession.Status.CANCELLED).values_list("starts_at", flat=True)]


@transaction.atomic
def session_repeat(*, user, session_id: int, dates: list[date] | None = None,
                   weekly_until: date | None = None) -> list[CanvassSession]:
    """Repeat a session the user manages on the days repeat_dates gives: a copy on each (all or none), the session
    and its copies linked in one series. Returns the new sessions, earliest first."""
    session = session_managed(user=user, session_id=session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        raise InvalidState(gettext("This session has been cancelled."), code="session_cancelled")
    CanvassSession.objects.select_for_update().filter(pk=session.pk).first()  # two repeats at once: one at a time
    days = repeat_dates(session=session, dates=dates, weekly_until=weekly_until)
    copies = session_copies_create(user=user, session_id=session.pk, dates=days)
    series = session.series or uuid.uuid4()
    CanvassSession.objects.filter(pk__in=[session.pk, *(copy.pk for copy in copies)]).update(
        series=series, requires_approval=session.requires_approval, confirm_required=session.confirm_required)
    for copy in copies:
        copy.series, copy.requires_approval = series, session.requires_approval
        copy.confirm_required = session.confirm_required
    return copies


def series_later(*, session: CanvassSession):
    """The occurrences of the session's series from this one on (itself included), not cancelled, earliest first."""
    if session.series is None:
        return CanvassSession.objects.filter(pk=session.pk)
    return (CanvassSession.objects.filter(series=session.series, starts_at__gte=session.starts_at)
            .exclude(status=CanvassSession.Status.CANCELLED).order_by("starts_at", "id"))


DETAILS = ("title", "description", "what_to_bring", "requires_approval", "confirm_required")


@transaction.atomic
def series_details_update(*, user, session_id: int, **details) -> list[CanvassSession]:
    """Edit this and later ones: the details given (DETAILS; None leaves one as it is) on this session and every later
    occurrence of its series (series_later), each through session_update, so that each change does what it does
    to one session (turning host approval off approves the volunteers waiting). Slots are not touched. Returns the
    sessions changed."""
    session = session_managed(user=user, session_id=session_id)
    changed = []
    for occurrence in series_later(session=session):
        changed.append(session_update(user=user, session_id=occurrence.pk, **{
            name: value for name, value in details.items() if name in DETAILS}))
    return changed
