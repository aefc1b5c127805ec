"""A rating texted back to the follow-up (notify.followups): "1" to "5" rates the volunteer's most recent slot they
were followed up about (volunteers.aftercare.feedback_record); other answers they give on its page."""

import logging

from core.errors import DomainError
from notify.followups import FOLLOW_UP
from notify.sms.models import SmsMessage
from notify.sms.texts import booking_render
from volunteers.aftercare import feedback_record
from volunteers.models import Feedback, Volunteer

logger = logging.getLogger(__name__)

RATING_WORDS = {"1", "2", "3", "4", "5"}
# A follow-up that reached Twilio (accepted or further): one never sent was never asked.
_ASKED = (SmsMessage.Status.QUEUED, SmsMessage.Status.SENT, SmsMessage.Status.DELIVERED)


def rating_reply(volunteer: Volunteer, keyword: str) -> str | None:
    """Record the rating `keyword` for the volunteer's latest follow-up and return the thanks; None when there is
    nothing it can rate (no follow-up sent, or its feedback closed), so the caller answers with the help text."""
    asked = (SmsMessage.objects.filter(volunteer=volunteer, kind=FOLLOW_UP, status__in=_ASKED)
             .select_related("booking__slot__session__seat", "booking__volunteer").order_by("-created_at", "-id").first())
    if asked is None or asked.booking is None:
        return None
    try:
        feedback_record(booking_id=asked.booking_id, rating=int(keyword), source=Feedback.Source.SMS, keep_others=True)
    except DomainError as exc:
        logger.info("rating from volunteer %s not applied: %s", volunteer.pk, exc.message)
        return None
    return booking_render("reply_rating", asked.booking, rating=int(keyword))
