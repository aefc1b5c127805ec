"""Small pieces shared by the dispatch services."""

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from dispatch.models import CoordinatorAction
from sessions.models import CanvassSession, Slot
from volunteers.models import Booking, Volunteer


def travel_limit_km(volunteer: Volunteer) -> float:
    """The volunteer's own limit, or the direct-booking default for people who only booked a slot."""
    return volunteer.max_travel_km if volunteer.max_travel_km else settings.DIRECT_BOOKING_TRAVEL_KM


def open_slots(*, now=None):
    """Upcoming slots of published sessions that still have a free place."""
    now = now or timezone.now()
    return Slot.objects.filter(
        starts_at__gt=now, session__status=CanvassSession.Status.PUBLISHED, confirmed_count__lt=F("capacity")
    )


def availability_filter(windows) -> Q:
    """Slots that fit entirely inside one of the windows [(starts_at, ends_at), ...]."""
    query = Q(pk__in=[])
    for starts_at, ends_at in windows:
        query |= Q(starts_at__gte=starts_at, ends_at__lte=ends_at)
    return query


def busy_spans(*, volunteer_id: int) -> list[tuple]:
    """Time spans of the volunteer's confirmed bookings (they cannot be in two places at once)."""
    return list(
        Booking.objects.filter(volunteer_id=volunteer_id, status=Booking.Status.CONFIRMED, slot__ends_at__gt=timezone.now())
        .values_list("slot__starts_at", "slot__ends_at")
    )


def action_record(*, actor, kind: str, params: dict, result: dict, run=None) -> CoordinatorAction:
    """Append a coordinator action to the audit log (in the caller's transaction)."""
    return CoordinatorAction.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind, params=params, result=result, run=run,
    )

