"""Reminder emails: the same bookings and moments as the reminder texts (notify.reminders), for
volunteers who may be emailed, and at night too (no quiet hours for email)."""

import logging
from datetime import datetime

from django.utils import timezone

from notify.email.models import EmailMessage
from notify.email.services.outbox import messages_record_bulk
from notify.reminders import reminders_due, reminders_write_in_chunks

logger = logging.getLogger(__name__)


def reminders_enqueue_due(*, now: datetime | None = None) -> int:
    """Write due reminder emails to the outbox, each once per booking version, a chunk per transaction. Returns how
    many were written."""
    written = 0
    for kind, bookings in reminders_due(now=now or timezone.now(), outbox=EmailMessage):
        keys = [(volunteer_id, booking_id, kind, version) for booking_id, volunteer_id, version in bookings.filter(
            volunteer__consent_email=True, volunteer__email_opted_out_at__isnull=True,
            volunteer__anonymised_at__isnull=True).exclude(volunteer__email="")
            .order_by("slot_id", "pk").values_list("pk", "volunteer_id", "version")]
        written += reminders_write_in_chunks(keys, record_bulk=messages_record_bulk)
        if keys:
            logger.info("reminders: %d %s emails written for %d due bookings", written, kind, len(keys))
    return written
