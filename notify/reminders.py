"""When reminders fall due, for every channel that sends them (notify.sms, notify.email): the day before (asking to
confirm) and shortly before the slot. Each channel writes its own rows with its own bulk record; quiet hours are
the texts' alone. The times are the SMS_REMINDER_* settings (notify.conf)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from notify.conf import notify_setting
from volunteers.models import Booking, BookingEvent

# The reminder kinds, the same in every channel's Kind choices.
DAY_BEFORE = "reminder_day_before"
SOON = "reminder_soon"


def _local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _status_since_before(moment_expression):
    """The booking reached its current state (its current version's event) before the given moment."""
    return Exists(BookingEvent.objects.filter(
        booking=OuterRef("pk"), version=OuterRef("version"), created_at__lt=moment_expression,
    ))


# Reminders are written a chunk per transaction: a beat run cut short keeps what it wrote, and the next
# run (every five minutes) writes the rest, since bookings that have the reminder are no longer due.
REMINDER_CHUNK = 2000


def reminders_write_in_chunks(keys: list, *, record_bulk) -> int:
    """Write the reminders named by `keys` with the outbox's `record_bulk`, REMINDER_CHUNK a transaction. Returns how
    many rows were written (none for a key that has its row already)."""
    written = 0
    for start in range(0, len(keys), REMINDER_CHUNK):
        with transaction.atomic():
            written += record_bulk(keys=keys[start:start + REMINDER_CHUNK])
    return written


def reminders_due(*, now: datetime, outbox) -> list[tuple[str, object]]:
    """The bookings due a reminder now, per reminder kind, that have none yet in `outbox` (the SmsMessage or the
    email app's EmailMessage model: a booking's reminder once per channel and booking version). Shared by the
    texts and the emails; quiet hours are the caller's (texts only).

    Only proven bookings that need no (more) approval are reminded. Day-before: from the configured local time
    (default 11:00) on the day before the slot, for bookings confirmed before that time (later ones just had
    their confirmation). Soon: within the lead time (default 30 minutes) before the slot, for bookings confirmed
    before the lead time began.
    """
    local = timezone.localtime(now)
    # Not for places whose phone was never proven (released before long) nor for those the host has still to
    # approve (a reminder carries the address).
    # Nor for a place offered and not yet taken (volunteers.confirmations): its offer text asks already.
    confirmed = Booking.objects.filter(status=Booking.Status.CONFIRMED, proven_at__isnull=False,
                                       offer_expires_at__isnull=True).exclude(approval=Booking.Approval.PENDING)
    due = []

    def not_yet(kind: str):
        return ~Exists(outbox.objects.filter(booking=OuterRef("pk"), kind=kind, version=OuterRef("version")))

    reminder_at = notify_setting("SMS_REMINDER_DAY_BEFORE_AT")
    if local.time() >= reminder_at:
        tomorrow = local.date() + timedelta(days=1)
        moment = timezone.make_aware(datetime.combine(local.date(), reminder_at))
        due.append((DAY_BEFORE, confirmed.filter(
            slot__starts_at__gte=_local_midnight(tomorrow), slot__starts_at__lt=_local_midnight(tomorrow + timedelta(days=1)),
        ).filter(_status_since_before(moment), not_yet(DAY_BEFORE))))

    lead = timedelta(minutes=notify_setting("SMS_REMINDER_SOON_MINUTES"))
    due.append((SOON, confirmed.filter(slot__starts_at__gt=now, slot__starts_at__lte=now + lead).filter(
        _status_since_before(OuterRef("slot__starts_at") - lead), not_yet(SOON),
    )))
    return due
