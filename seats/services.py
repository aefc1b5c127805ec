"""Seat priority and other writes to seats."""

from django.db import transaction
from django.utils.translation import gettext

from core.errors import InvalidInput, NotFound
from seats.models import Seat

# Priority bands from the majority as a share of valid votes: the smaller the majority, the
# fewer votes need to move, the more a canvasser's hour is worth. 1 is the top priority.
PRIORITY_BANDS = ((5.0, 1), (10.0, 2), (15.0, 3), (25.0, 4))
LOWEST_PRIORITY = 5
UNSET = object()


def seat_priority_compute(*, majority_pct: float | None) -> int:
    """Priority band 1–5 from marginality; seats with no result get the lowest priority."""
    if majority_pct is None:
        return LOWEST_PRIORITY
    for ceiling, band in PRIORITY_BANDS:
        if majority_pct < ceiling:
            return band
    return LOWEST_PRIORITY


def seat_effective_priority(*, computed: int, override: int | None, is_target: bool) -> int:
    """A coordinator override wins; otherwise a target seat ranks one band higher than its marginality."""
    if override is not None:
        return override
    return max(1, computed - 1) if is_target else computed


@transaction.atomic
def seat_priority_set(*, ons_code: str, priority_override=UNSET, is_target: bool | None = None) -> Seat:
    """Set (or clear, with None) a coordinator override and/or the target flag; recompute the effective priority. Idempotent."""
    seat = Seat.objects.select_for_update().filter(pk=ons_code).first()
    if seat is None:
        raise NotFound(gettext("No seat %(ons_code)s.") % {"ons_code": ons_code}, fields={"ons_code": [gettext("Unknown seat.")]})
    if priority_override is not UNSET:
        if priority_override is not None and not 1 <= priority_override <= 5:
            raise InvalidInput(gettext("priority_override must be between 1 and 5."), fields={"priority_override": [gettext("Must be 1–5.")]})
        seat.priority_override = priority_override
    if is_target is not None:
        seat.is_target = is_target
    seat.priority = seat_effective_priority(
        computed=seat.computed_priority, override=seat.priority_override, is_target=seat.is_target
    )
    seat.save(update_fields=["priority_override", "is_target", "priority", "updated_at"])
    return seat
