"""When the follow-up after a slot falls due, for every channel that sends it (notify.sms, notify.email): one message
per proven booking, FOLLOW_UP_AFTER_MINUTES after its slot ends, asking how it went (docs/after-the-session.md).
A service message, like the reminders: each channel writes its own rows (one per booking: version FOLLOW_UP_VERSION,
whatever later changes of the booking, such as the host marking attendance); quiet hours are the texts' alone."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from volunteers.aftercare import FOLLOWED_UP
from volunteers.models import Booking

FOLLOW_UP = "follow_up"
# A follow-up is about the booking, not one of its versions: one row per booking and channel.
FOLLOW_UP_VERSION = 0


def follow_ups_due(*, now: datetime, outbox):
    """The bookings due a follow-up now that have none yet in `outbox` (SmsMessage or EmailMessage): proven, held
    when the slot ran (confirmed, attended or marked absent), not waiting for or refused by the host, whose slot
    ended between FOLLOW_UP_WINDOW_HOURS and FOLLOW_UP_AFTER_MINUTES ago."""
    ended_by = now - timedelta(minutes=settings.FOLLOW_UP_AFTER_MINUTES)
    return (Booking.objects.filter(status__in=FOLLOWED_UP, proven_at__isnull=False,
                                   slot__ends_at__lte=ended_by,
                                   slot__ends_at__gt=ended_by - timedelta(hours=settings.FOLLOW_UP_WINDOW_HOURS))
            .exclude(approval__in=(Booking.Approval.PENDING, Booking.Approval.REFUSED))
            .filter(~Exists(outbox.objects.filter(booking=OuterRef("pk"), kind=FOLLOW_UP, version=FOLLOW_UP_VERSION))))
