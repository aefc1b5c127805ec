"""The release of places not confirmed in time (volunteers.confirmations), run by Celery beat: only volunteers who
were asked are released, that is those a day-before reminder went out to (a text Twilio accepted, or an email the
mail server took). A volunteer whose reminder was held back (opted out, quiet hours, no consent on either channel)
keeps their place: nobody asked them."""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.dispatch import Signal
from django.utils import timezone

from notify.registry import channels
from notify.reminders import DAY_BEFORE
from volunteers.confirmations import booking_release_unconfirmed, unconfirmed_release_due

logger = logging.getLogger(__name__)

# Sent inside the transaction that released places of one session: booking_ids, the bookings released.
places_released = Signal()

# The statuses of a message that left us, in every channel that sends reminders (the texts: handed to Twilio or
# further; the emails: taken by the mail server, or handed over with no answer).
WENT = ("queued", "sent", "delivered", "assumed")


def unconfirmed_asked_due(*, now: datetime):
    """unconfirmed_release_due, for the bookings whose day-before reminder went out by some channel (every channel
    whose rows have a reminder kind: notify.registry, so that this module imports none of them)."""
    asked = Q()
    for outbox in channels():
        names = {field.name for field in outbox.model._meta.get_fields()}
        if {"booking", "kind", "status"} <= names:
            asked |= Q(Exists(outbox.model.objects.filter(booking=OuterRef("pk"), kind=DAY_BEFORE, status__in=WENT)))
    return unconfirmed_release_due(now=now).filter(asked) if asked else unconfirmed_release_due(now=now).none()


def unconfirmed_release(*, now: datetime | None = None, limit: int = 500) -> int:
    """Release the places due (unconfirmed_asked_due), a session's in one transaction with the host's message about
    them (places_released: one per session and run); returns how many. Safe to run twice and concurrently: each
    is locked and checked again (volunteers.confirmations.booking_release_unconfirmed)."""
    now = now or timezone.now()
    due = list(unconfirmed_asked_due(now=now).order_by("slot__starts_at", "pk")
               .values_list("pk", "slot__session_id")[:limit])
    by_session: dict[int, list[int]] = {}
    for booking_id, session_id in due:
        by_session.setdefault(session_id, []).append(booking_id)
    released = 0
    for ids in by_session.values():
        with transaction.atomic():
            gone = [booking_id for booking_id in ids if booking_release_unconfirmed(booking_id=booking_id, now=now)]
            if gone:  # the host is told (notify.host_releases, wired in notify.wiring), in this transaction
                places_released.send(sender=None, booking_ids=gone)
        released += len(gone)
    if released:
        logger.info("released %d places not confirmed by their deadline", released)
    return released
