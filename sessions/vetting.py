"""Vetting hosts (HOST_VETTING): a new host's sessions are in review, seen by their host and the organisers only,
until an organiser approves one; that approval makes the host trusted, and a trusted host's sessions publish at
once. A coordinator may approve any session; a trusted host may approve those in a seat where they host a room
themselves. Every approval, refusal and change of trust is recorded (VettingDecision).

The review queue is one selector (`sessions_in_review`) and the answers are services (`session_approve`,
`session_refuse`, `host_trust_set`), so a narrower reviewer (a regional organiser) is a filter in one place.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from core.db import pk_in_range
from core.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from seats.scopes import seat_scope_for
from sessions.models import CanvassSession, HostStanding, MeetingPoint, VettingDecision

REASON_MAX = 1000
Status = CanvassSession.Status


def host_trusted(*, host_id: int) -> bool:
    return HostStanding.objects.filter(host_id=host_id, trusted=True).exists()


def session_needs_review(*, user, meeting_point: MeetingPoint) -> bool:
    """Whether a session `user` posts at `meeting_point` waits for an organiser: vetting is on, a host posts it
    (not a coordinator), and the room's host is not trusted yet."""
    if not settings.HOST_VETTING or user.is_staff:
        return False
    return not host_trusted(host_id=meeting_point.host_id)


def reviewer_seat_ids(*, user) -> set[str] | None:
    """The seats whose sessions `user` may review: None for every seat (a national coordinator), a regional
    organiser's seats (seats.scopes), else the seats where this trusted host has an active room (an empty set for
    anyone else)."""
    if not user.is_authenticated:
        return set()
    if user.is_staff:
        scope = seat_scope_for(user)
        return None if scope.national else set(scope.seat_codes)
    if not host_trusted(host_id=user.pk):
        return set()
    return set(MeetingPoint.objects.filter(host=user, is_active=True).exclude(seat=None)
               .values_list("seat_id", flat=True))


def sessions_in_review(*, user) -> QuerySet:
    """The review queue `user` may answer, oldest first: every session in review for a coordinator, those in the
    seats where a trusted host hosts for them, never the reviewer's own."""
    query = (CanvassSession.objects.filter(status=Status.REVIEW)
             .select_related("seat", "meeting_point", "meeting_point__host").prefetch_related("slots")
             .order_by("created_at", "id"))
    seats = reviewer_seat_ids(user=user)
    if seats is not None:
        query = query.filter(seat_id__in=seats)
    return query.exclude(meeting_point__host=user)


def vetting_decisions_recent(*, user, limit: int = 20) -> QuerySet:
    """The latest approvals, refusals and changes of trust, for coordinators (the audit; the admin has them all)."""
    if not user.is_staff:
        return VettingDecision.objects.none()
    decisions = VettingDecision.objects.select_related("host", "by", "session")
    scope = seat_scope_for(user)
    if not scope.national:  # a regional organiser sees the decisions on sessions in their seats
        decisions = decisions.filter(session__seat_id__in=sorted(scope.seat_codes))
    return decisions.order_by("-created_at", "-id")[:limit]


def _in_review_for(*, user, session_id) -> CanvassSession:
    """The session, locked, if it is in `user`'s queue. Otherwise NotFound (the ids of others' sessions are not
    confirmed), or for a coordinator InvalidState when it has been answered already."""
    if not pk_in_range(CanvassSession, session_id):
        raise NotFound(gettext("No such session."), code="not_found")
    session = sessions_in_review(user=user).select_for_update(of=("self",)).filter(pk=session_id).first()
    if session is not None:
        return session
    if user.is_staff and CanvassSession.objects.filter(pk=session_id).exclude(status=Status.REVIEW).exists():
        raise InvalidState(gettext("This session has been answered already."), code="already_reviewed")
    raise NotFound(gettext("No such session."), code="not_found")


def _trust(*, host, by, reason: str = "") -> bool:
    standing, _ = HostStanding.objects.select_for_update().get_or_create(host=host)
    if standing.trusted:
        return False
    standing.trusted, standing.trusted_at, standing.trusted_by = True, timezone.now(), by
    standing.save(update_fields=["trusted", "trusted_at", "trusted_by"])
    VettingDecision.objects.create(kind=VettingDecision.Kind.TRUSTED, host=host, by=by, reason=reason)
    return True


@transaction.atomic
def session_approve(*, user, session_id: int) -> CanvassSession:
    """Publish a session in review and trust its host, so their later sessions publish at once; recorded.
    NotFound outside the reviewer's queue, InvalidState if already answered."""
    session = _in_review_for(user=user, session_id=session_id)
    host = session.meeting_point.host
    now = timezone.now()
    session.status, session.reviewed_at, session.reviewed_by, session.review_reason = Status.PUBLISHED, now, user, ""
    session.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_reason", "updated_at"])
    VettingDecision.objects.create(kind=VettingDecision.Kind.APPROVED, host=host, session=session, by=user)
    _trust(host=host, by=user, reason=gettext("First session approved."))
    return session


@transaction.atomic
def session_refuse(*, user, session_id: int, reason: str) -> CanvassSession:
    """Keep a session in review off the site, with a reason its host sees; recorded. InvalidInput naming `reason`
    if there is none."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(gettext("Say why, for the host."), code="reason_required",
                           fields={"reason": [gettext("The host sees this reason.")]})
    if len(reason) > REASON_MAX:
        raise InvalidInput(gettext("The reason is too long."), code="reason_too_long",
                           fields={"reason": [gettext("At most %(max)s characters.") % {"max": REASON_MAX}]})
    session = _in_review_for(user=user, session_id=session_id)
    session.status, session.reviewed_at, session.reviewed_by = Status.REFUSED, timezone.now(), user
    session.review_reason = reason
    session.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_reason", "updated_at"])
    VettingDecision.objects.create(kind=VettingDecision.Kind.REFUSED, host=session.meeting_point.host,
                                   session=session, by=user, reason=reason)
    return session


@transaction.atomic
def host_trust_set(*, user, host_id: int, trusted: bool, reason: str = "") -> HostStanding:
    """A coordinator trusts a host (their sessions publish at once) or stops trusting them; recorded. Idempotent."""
    if not user.is_staff:
        raise PermissionDenied(gettext("Only organisers can change whom we trust."))
    # A trusted host publishes in every seat, so trusting is for national coordinators.
    seat_scope_for(user).check_national()
    host = get_user_model().objects.filter(pk=host_id).first() if pk_in_range(get_user_model(), host_id) else None
    if host is None:
        raise NotFound(gettext("No such host."), code="not_found")
    if trusted:
        _trust(host=host, by=user, reason=reason)
    else:
        standing, _ = HostStanding.objects.select_for_update().get_or_create(host=host)
        if standing.trusted:
            standing.trusted, standing.trusted_at, standing.trusted_by = False, None, None
            standing.save(update_fields=["trusted", "trusted_at", "trusted_by"])
            VettingDecision.objects.create(kind=VettingDecision.Kind.UNTRUSTED, host=host, by=user, reason=reason)
    return HostStanding.objects.get(host=host)
