"""Coordinator changes to seats, through the seats services, with a line in the audit log."""

from django.db import transaction

from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record
from dispatch.services.coverage import coverage_cache_invalidate
from seats.models import Seat
from seats.scopes import NATIONAL, SeatScope
from seats.services import UNSET, seat_need_set, seat_priority_set
from seats.targets import TargetListResult, target_list_apply, target_list_parse


@transaction.atomic
def seat_priority_change(*, actor, ons_code: str, priority_override=UNSET, is_target: bool | None = None,
                         scope: SeatScope = NATIONAL) -> Seat:
    """seats.services.seat_priority_set (the same rule the API applies) and an audit record of before and after.
    NotFound for a seat outside the caller's scope."""
    scope.check_seat(ons_code)
    before = Seat.objects.filter(pk=ons_code).values("priority_override", "is_target", "priority").first()
    seat = seat_priority_set(ons_code=ons_code, priority_override=priority_override, is_target=is_target)
    action_record(actor=actor, kind=CoordinatorAction.Kind.SEAT_PRIORITY_SET, params={"seat": seat.pk},
                  result={"before": before, "after": {"priority_override": seat.priority_override,
                                                      "is_target": seat.is_target, "priority": seat.priority}})
    transaction.on_commit(coverage_cache_invalidate)
    return seat


@transaction.atomic
def seat_need_change(*, actor, ons_code: str, need_per_day: int | None, scope: SeatScope = NATIONAL) -> Seat:
    """seats.services.seat_need_set and an audit record of before and after. NotFound outside the scope."""
    scope.check_seat(ons_code)
    before = Seat.objects.filter(pk=ons_code).values_list("need_per_day", flat=True).first()
    seat = seat_need_set(ons_code=ons_code, need_per_day=need_per_day)
    action_record(actor=actor, kind=CoordinatorAction.Kind.SEAT_NEED_SET, params={"seat": seat.pk},
                  result={"before": before, "after": seat.need_per_day})
    transaction.on_commit(coverage_cache_invalidate)
    return seat


@transaction.atomic
def target_list_import(*, actor, data: bytes, filename: str = "", scope: SeatScope = NATIONAL) -> TargetListResult:
    """Check every row of a target-list CSV, then replace the campaign's target list with it and record who, when
    and what moved in the audit log, all in one transaction: a bad row changes nothing. National coordinators
    only (the list is the whole campaign's). Idempotent: the same file again changes no priority."""
    scope.check_national()
    rows = target_list_parse(data=data)
    result = target_list_apply(rows=rows)
    action_record(actor=actor, kind=CoordinatorAction.Kind.TARGET_LIST_IMPORTED,
                  params={"file": filename[:200], "rows": len(rows)}, result=result.as_dict())
    transaction.on_commit(coverage_cache_invalidate)
    return result
