"""Follow-up texts after a slot (notify.followups), enqueued by Celery beat; none written in quiet hours, so those
due overnight are written, and sent, in the morning."""

import logging
from datetime import datetime

from django.utils import timezone

from notify.followups import FOLLOW_UP, FOLLOW_UP_VERSION, follow_ups_due
from notify.reminders import reminders_write_in_chunks
from notify.sms.models import SmsMessage
from notify.sms.services.outbox import MessageKey, messages_record_bulk
from notify.sms.services.sending import in_quiet_hours

logger = logging.getLogger(__name__)


def follow_ups_enqueue_due(*, now: datetime | None = None) -> int:
    """Write the due follow-up texts to the outbox, once per booking, a chunk per transaction. Returns how many."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return 0
    keys = [MessageKey(booking_id, FOLLOW_UP, FOLLOW_UP_VERSION) for booking_id in
            follow_ups_due(now=now, outbox=SmsMessage).order_by("slot_id", "pk").values_list("pk", flat=True)]
    written = reminders_write_in_chunks(keys, record_bulk=messages_record_bulk)
    if keys:
        logger.info("follow-ups: %d texts written for %d due bookings", written, len(keys))
    return written
