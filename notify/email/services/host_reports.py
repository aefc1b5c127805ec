"""The host's report link, emailed when a session ends (volunteers.aftercare: doors knocked, conversations, a note
for the organiser). One email per session, written by beat FOLLOW_UP_AFTER_MINUTES after the session ends, for
sessions that had proven volunteers, to hosts whose address is proven and who take emails (each or daily). The row
hangs on the session's first proven booking (the outbox's key is a booking), with version 0."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext

from core.db import copy_insert_new
from notify.email.models import EmailMessage
from notify.followups import FOLLOW_UP_VERSION
from sessions.hosts import host_ids_email_verified
from sessions.models import CanvassSession
from volunteers.aftercare import FOLLOWED_UP, report_link_token
from volunteers.models import Booking

HOST_REPORT = EmailMessage.Kind.HOST_REPORT


def report_url(session: CanvassSession) -> str:
    token = report_link_token(session)
    try:
        path = reverse("host_report_link", args=[token])
    except NoReverseMatch:  # the pages (web) are not installed
        path = f"/r/{token}/"
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def host_reports_enqueue_due(*, now: datetime | None = None) -> int:
    """Write the report emails due now, once per session (a session already asked is skipped). Returns how many."""
    now = now or timezone.now()
    ended_by = now - timedelta(minutes=settings.FOLLOW_UP_AFTER_MINUTES)
    asked = EmailMessage.objects.filter(kind=HOST_REPORT, booking__slot__session=OuterRef("slot__session"))
    rows = list(Booking.objects.filter(status__in=FOLLOWED_UP, proven_at__isnull=False,
                                       slot__session__ends_at__lte=ended_by,
                                       slot__session__ends_at__gt=ended_by - timedelta(hours=settings.FOLLOW_UP_WINDOW_HOURS))
                .exclude(slot__session__status=CanvassSession.Status.CANCELLED).filter(~Exists(asked))
                .values("slot__session_id", "slot__session__meeting_point__host_id").annotate(first=Min("pk")))
    verified = host_ids_email_verified({row["slot__session__meeting_point__host_id"] for row in rows})
    keys = [(row["slot__session__meeting_point__host_id"], row["first"], HOST_REPORT, FOLLOW_UP_VERSION)
            for row in rows if row["slot__session__meeting_point__host_id"] in verified]
    if not keys:
        return 0
    with transaction.atomic():
        inserted = copy_insert_new(EmailMessage, ("host", "booking", "kind", "version"), keys,
                                   unique_fields=("booking", "kind", "version"), returning=("id",))
        ids = [pk for (pk,) in inserted]
        if ids:
            from notify.email.services.outbox import messages_enqueue_batches

            transaction.on_commit(lambda: messages_enqueue_batches(ids))
    return len(ids)


def host_report_rendered(*, booking: Booking, unsubscribe: str):
    """The host's email: how did the session go, and the private link to its report form."""
    from notify.email.services import content

    session = booking.slot.session
    context = {"title": session.title, "when": content._when(booking.slot), "link": report_url(session),
               "days": settings.HOST_REPORT_EDIT_DAYS, "settings_url": content.host_settings_url(),
               "unsubscribe": unsubscribe, "site": settings.SITE_NAME}
    text, html = content.render("host_report", context)
    subject = gettext("How did it go? Report on {title}").format(title=session.title)[:200]
    return content.Rendered(subject=subject, text=text, html=html)
