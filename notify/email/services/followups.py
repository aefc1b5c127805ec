"""Follow-up emails after a slot (notify.followups), for volunteers who chose email; at night too."""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from notify.email.models import EmailMessage
from notify.email.services.outbox import messages_record_bulk
from notify.followups import FOLLOW_UP, FOLLOW_UP_VERSION, follow_ups_due
from notify.reminders import reminders_write_in_chunks
from volunteers.links import manage_url

logger = logging.getLogger(__name__)


def follow_ups_enqueue_due(*, now: datetime | None = None) -> int:
    """Write the due follow-up emails to the outbox, once per booking, a chunk per transaction. Returns how many."""
    bookings = follow_ups_due(now=now or timezone.now(), outbox=EmailMessage).filter(
        volunteer__consent_email=True, volunteer__email_opted_out_at__isnull=True,
        volunteer__anonymised_at__isnull=True).exclude(volunteer__email="")
    keys = [(volunteer_id, booking_id, FOLLOW_UP, FOLLOW_UP_VERSION) for booking_id, volunteer_id in
            bookings.order_by("slot_id", "pk").values_list("pk", "volunteer_id")]
    written = reminders_write_in_chunks(keys, record_bulk=messages_record_bulk)
    if keys:
        logger.info("follow-ups: %d emails written for %d due bookings", written, len(keys))
    return written


def feedback_url(manage_token: str) -> str:
    """The follow-up's link: the booking's feedback page, /b/<token>/after."""
    return f"{manage_url(manage_token)}/after"


def follow_up_rendered(*, booking, unsubscribe: str):
    """The follow-up email about `booking`: no address, no calendar; the link is the feedback page."""
    from notify.email.services import content

    context = {"first_name": content._first_name(booking.volunteer.name), "title": booking.slot.session.title,
               "when": content._when(booking.slot), "link": feedback_url(booking.manage_token),
               "unsubscribe": unsubscribe, "site": settings.SITE_NAME}
    text, html = content.render("follow_up", context)
    subject = gettext("How did it go? {title}").format(title=booking.slot.session.title)[:200]
    return content.Rendered(subject=subject, text=text, html=html)
