"""Reads the coordinators' pages need beyond one service call: plain queries, no rules."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from dispatch.models import AssignmentRun, CoordinatorAction, ProposedAssignment
from notify.sms.models import SmsMessage
from seats.models import Seat, SeatAdjacency
from seats.scopes import NATIONAL, SeatScope
from sessions.models import CanvassSession, Slot

RUN_SAMPLE_SIZE = 25


def seat_for_page(*, ons_code: str, scope: SeatScope = NATIONAL) -> Seat | None:
    """The seat, if the caller's scope holds it."""
    code = ons_code.strip().upper()
    return Seat.objects.filter(pk=code).first() if scope.allows(code) else None


def seat_is_current(*, seat: Seat) -> bool:
    return Seat.objects.current().filter(pk=seat.pk).exists()


def seat_sessions(*, seat: Seat, date_from: datetime | None = None) -> list[CanvassSession]:
    """The seat's sessions that have not ended, soonest first, with their slots."""
    date_from = date_from or timezone.now()
    return list(
        CanvassSession.objects.filter(seat=seat, ends_at__gt=date_from).select_related("meeting_point")
        .prefetch_related(Prefetch("slots", queryset=Slot.objects.order_by("starts_at", "id")))
        .order_by("starts_at", "id")[:50]
    )


def seat_neighbours(*, seat: Seat) -> list[SeatAdjacency]:
    """Its neighbours in the latest set it belongs to (an unchanged seat also keeps its old set's pairs)."""
    return list(SeatAdjacency.objects.filter(from_seat=seat, to_seat__in=Seat.objects.in_set(seat.last_boundary_set_id))
                .select_related("to_seat")
                .order_by("to_seat__priority", "to_seat__name"))


def slots_by_id(ids) -> dict[int, Slot]:
    return {slot.pk: slot for slot in Slot.objects.filter(pk__in=list(ids)).select_related("session__seat")}


def run_sample(*, run: AssignmentRun, limit: int = RUN_SAMPLE_SIZE) -> list[ProposedAssignment]:
    """The first proposals with a slot, best-valued first: what a commit would book."""
    return list(ProposedAssignment.objects.filter(run=run, slot__isnull=False)
                .select_related("volunteer", "slot__session", "seat").order_by("-value", "id")[:limit])


def audit_log(*, user=None, scope: SeatScope = NATIONAL) -> QuerySet[CoordinatorAction]:
    """The audit log: everything for a national coordinator; a regional organiser's own actions only (an action
    names seats in several shapes, and an organiser's log of what they did is what they need)."""
    query = CoordinatorAction.objects.select_related("actor", "run")
    return query if scope.national else query.filter(actor_id=getattr(user, "pk", None))


def target_list() -> list[Seat]:
    """The seats on the campaign's target list, most important first."""
    return list(Seat.objects.filter(target_list_priority__isnull=False)
                .only("pk", "name", "region", "target_list_priority", "is_target", "target_note", "priority")
                .order_by("target_list_priority", "name"))


def sms_log(*, status: str = "", kind: str = "", opted_out: bool = False, retried: bool = False,
            failures_value: str = "failures", scope: SeatScope = NATIONAL) -> QuerySet[SmsMessage]:
    """SMS messages newest first, filtered as the log's form asks; a regional organiser's: those about bookings
    in their seats (a code text about no booking is nobody's region)."""
    query = scope.filter(SmsMessage.objects.select_related("volunteer"), "booking__slot__session__seat")
    if status == failures_value:
        query = query.filter(status__in=[SmsMessage.Status.FAILED, SmsMessage.Status.UNDELIVERED])
    elif status:
        query = query.filter(status=status)
    if kind:
        query = query.filter(kind=kind)
    if opted_out:
        query = query.filter(volunteer__sms_opted_out=True)
    if retried:
        query = query.filter(attempts__gt=1)
    return query.order_by("-created_at", "-id")


def sms_message(*, message_id: int, scope: SeatScope = NATIONAL) -> SmsMessage | None:
    query = SmsMessage.objects.select_related("volunteer", "booking__slot__session__seat").filter(pk=message_id)
    return scope.filter(query, "booking__slot__session__seat").first()


def seat_names(codes) -> dict[str, str]:
    return dict(Seat.objects.filter(pk__in=[code for code in codes if isinstance(code, str)]).values_list("pk", "name"))
