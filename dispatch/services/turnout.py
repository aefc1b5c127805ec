"""Coordinators' turnout tools: letting a seat over-book by its expected no-show rate (volunteers.turnout) and
releasing places nobody confirmed to the waitlist (volunteers.confirmations), each audited."""

from django.db import transaction

from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record
from seats.models import Seat
from seats.scopes import NATIONAL, SeatScope
from seats.services import seat_confirm_required_set
from volunteers.turnout import seat_overbook_allowed, seat_overbook_set


@transaction.atomic
def seat_overbook_change(*, actor, ons_code: str, allowed: bool, scope: SeatScope = NATIONAL) -> bool:
    """Set the seat's over-booking setting (its upcoming slots follow at once) and record before and after in the
    audit log. NotFound outside the scope. Returns the setting now."""
    scope.check_seat(ons_code)
    before = seat_overbook_allowed(ons_code)
    seat_overbook_set(seat_id=ons_code, allowed=allowed)
    action_record(actor=actor, kind=CoordinatorAction.Kind.SEAT_OVERBOOK_SET, params={"seat": ons_code},
                  result={"before": before, "after": allowed})
    return allowed


@transaction.atomic
def seat_confirm_required_change(*, actor, ons_code: str, required: bool, scope: SeatScope = NATIONAL) -> bool:
    """Set whether the seat's sessions release places not confirmed by the deadline (seats.services), and record
    before and after in the audit log. NotFound outside the scope. Returns the setting now."""
    scope.check_seat(ons_code)
    before = Seat.objects.filter(pk=ons_code).values_list("confirm_required", flat=True).first()
    seat_confirm_required_set(ons_code=ons_code, required=required)
    action_record(actor=actor, kind=CoordinatorAction.Kind.SEAT_CONFIRM_SET, params={"seat": ons_code},
                  result={"before": before, "after": required})
    return required
