"""Coordinators' turnout tools: letting a seat over-book by its expected no-show rate (volunteers.turnout), audited;
and the dashboard's expected places per seat."""

from django.db import transaction

from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record
from seats.scopes import NATIONAL, SeatScope
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
