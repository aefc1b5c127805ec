"""The host's email when places on their session nobody confirmed in time go to the waitlist (notify.host_releases):
one email per session and release run, written in the releasing transaction, to a host who takes an email each
time at a proven address. The row hangs on the run's first booking (the outbox's key is a booking); the email lists
the session's places released since the previous such email, that is those of its own run."""

from django.conf import settings
from django.db import transaction
from django.utils.translation import ngettext

from notify.email.models import EmailMessage
from notify.email.services import content
from volunteers.models import Booking, BookingEvent
from volunteers.selectors import roster_person

HOST_RELEASED = EmailMessage.Kind.HOST_RELEASED


def host_released_email_record(*, bookings: list[Booking]) -> int | None:
    """Inside the releasing transaction: the host's email about these released bookings of one session (once: the
    row's key is the first booking's kind and version). None if the host takes no email each time."""
    from notify.email.services.outbox import _hosts_told_each, message_enqueue

    first = bookings[0]
    host_id = first.slot.session.meeting_point.host_id
    if host_id not in _hosts_told_each([host_id]):
        return None
    row, created = EmailMessage.objects.get_or_create(booking=first, kind=HOST_RELEASED, version=first.version,
                                                      defaults={"host_id": host_id})
    if created:
        transaction.on_commit(lambda: message_enqueue(row.pk))
    return row.pk


def released_with(*, message_id: int, booking: Booking) -> list[Booking]:
    """The bookings of `booking`'s session released unconfirmed after the previous host_released email of the
    session was written and up to this one: this email's run."""
    row = EmailMessage.objects.get(pk=message_id)
    events = BookingEvent.objects.filter(booking__slot__session_id=booking.slot.session_id,
                                         kind=BookingEvent.Kind.UNCONFIRMED, created_at__lte=row.created_at)
    before = (EmailMessage.objects.filter(kind=HOST_RELEASED, booking__slot__session_id=booking.slot.session_id,
                                          created_at__lt=row.created_at)
              .order_by("-created_at").values_list("created_at", flat=True).first())
    if before is not None:
        events = events.filter(created_at__gt=before)
    ids = list(events.order_by("id").values_list("booking_id", flat=True).distinct())
    found = Booking.objects.select_related("volunteer").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found] or [booking]


def host_released_rendered(*, message_id: int, booking: Booking, unsubscribe: str) -> content.Rendered:
    """In the host's language (the caller's language_override)."""
    slot = booking.slot
    session = slot.session
    names = [content.host_name(roster_person(b).name) for b in released_with(message_id=message_id, booking=booking)]
    context = {"count": len(names), "names": names, "title": session.title, "when": content._when(slot),
               "roster": content.roster_url(session.pk), "settings_url": content.host_settings_url(),
               "unsubscribe": unsubscribe, "site": settings.SITE_NAME}
    text, html = content.render("host_released", context)
    subject = ngettext("A place on {title} went to the waitlist", "{count} places on {title} went to the waitlist",
                       len(names)).format(title=session.title, count=len(names))
    return content.Rendered(subject=subject[:200], text=text, html=html)


