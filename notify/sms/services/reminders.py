"""Reminders, enqueued by Celery beat: the day before (asking to confirm) and shortly before the slot. The day-before
ones are planned across the evening's window, and every reminder has a latest useful time
(notify.sms.services.reminder_window)."""

import logging
from datetime import datetime
from functools import partial

from django.utils import timezone

from notify.reminders import reminders_due, reminders_write_in_chunks
from notify.sms.models import SmsMessage
from notify.sms.services.outbox import MessageKey, messages_record_bulk
from notify.sms.services.reminder_window import reminder_timing
from notify.sms.services.sending import in_quiet_hours

logger = logging.getLogger(__name__)


def _record_all(bookings, kind: str, now: datetime) -> int:
    # Soonest slot first (the plan's priority order), then by slot: a chunk then covers few slots, and each slot's
    # text is rendered once for all its bookings.
    due = list(bookings.order_by("slot__starts_at", "slot_id", "pk").values_list("pk", "version", "slot__starts_at"))
    keys = [MessageKey(booking_id, kind, version) for booking_id, version, _ in due]
    timing = reminder_timing(kind=kind, now=now, starts={booking_id: starts for booking_id, _, starts in due})
    written = reminders_write_in_chunks(keys, record_bulk=partial(messages_record_bulk, timing=timing))
    if keys:
        logger.info("reminders: %d %s messages written for %d due bookings", written, kind, len(keys))
    return written


def reminders_enqueue_due(*, now: datetime | None = None) -> int:
    """Write due reminder texts to the outbox (each once per booking version); none in quiet hours. Returns how
    many (which bookings are due: reminders_due)."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return 0
    return sum(_record_all(bookings, kind, now) for kind, bookings in reminders_due(now=now, outbox=SmsMessage))
