"""Seat priority and other writes to seats."""

from django.conf import settings
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


def seat_effective_priority(*, computed: int, override: int | None, is_target: bool, listed: int | None = None) -> int:
    """A coordinator override wins, then the campaign's target list; otherwise a target seat ranks one band
    higher than its marginality."""
    if override is not None:
        return override
    if listed is not None:
        return listed
    return max(1, computed - 1) if is_target else computed


class PriorityBasis:
    """Which rule set a seat's priority (seat_priority_basis)."""

    COORDINATOR = "coordinator"
    TARGET_LIST = "target_list"
    RESULT = "result"
    NO_RESULT = "no_result"


def seat_priority_basis(seat: Seat) -> str:
    """The rule that set the seat's effective priority, in the order seat_effective_priority applies them."""
    if seat.priority_override is not None:
        return PriorityBasis.COORDINATOR
    if seat.target_list_priority is not None:
        return PriorityBasis.TARGET_LIST
    return PriorityBasis.RESULT if seat.majority is not None and seat.majority_pct is not None else PriorityBasis.NO_RESULT


def seat_need_per_day(seat: Seat) -> int:
    """Proven places a day the seat needs: its own figure, else SEAT_NEED_BY_PRIORITY for its band."""
    if seat.need_per_day is not None:
        return seat.need_per_day
    bands = settings.SEAT_NEED_BY_PRIORITY
    return int(bands[min(max(seat.priority, 1), len(bands)) - 1])


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
        computed=seat.computed_priority, override=seat.priority_override, is_target=seat.is_target,
        listed=seat.target_list_priority,
    )
    seat.save(update_fields=["priority_override", "is_target", "priority", "updated_at"])
    return seat


@transaction.atomic
def seat_need_set(*, ons_code: str, need_per_day: int | None) -> Seat:
    """Set (or clear, with None) the proven places a day the seat needs. Idempotent."""
    if need_per_day is not None and not 0 <= need_per_day <= 10000:
        raise InvalidInput(gettext("need_per_day must be between 0 and 10000."),
                           fields={"need_per_day": [gettext("Must be 0–10000.")]})
    if not Seat.objects.filter(pk=ons_code).update(need_per_day=need_per_day):
        raise NotFound(gettext("No seat %(ons_code)s.") % {"ons_code": ons_code}, fields={"ons_code": [gettext("Unknown seat.")]})
    return Seat.objects.get(pk=ons_code)


def seat_confirm_required_set(*, ons_code: str, required: bool) -> Seat:
    """Whether every session in the seat asks its volunteers to confirm and releases places not confirmed by the
    deadline to the waitlist (docs/confirm-or-release.md). NotFound for an unknown seat. Idempotent."""
    if not Seat.objects.filter(pk=ons_code).update(confirm_required=required):
        raise NotFound(gettext("No seat %(ons_code)s.") % {"ons_code": ons_code}, fields={"ons_code": [gettext("Unknown seat.")]})
    return Seat.objects.get(pk=ons_code)
