"""Coordinator changes to seats, through the seats services, with a line in the audit log."""

from django.db import transaction

from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record
from seats.models import Seat
from seats.services import UNSET, seat_priority_set


@transaction.atomic
def seat_priority_change(*, actor, ons_code: str, priority_override=UNSET, is_target: bool | None = None) -> Seat:
    """seats.services.seat_priority_set (the same rule the API applies) and an audit record of before and after."""
    before = Seat.objects.filter(pk=ons_code).values("priority_override", "is_target", "priority").first()
    seat = seat_priority_set(ons_code=ons_code, priority_override=priority_override, is_target=is_target)
    action_record(actor=actor, kind=CoordinatorAction.Kind.SEAT_PRIORITY_SET, params={"seat": seat.pk},
                  result={"before": before, "after": {"priority_override": seat.priority_override,
                                                      "is_target": seat.is_target, "priority": seat.priority}})
    return seat
