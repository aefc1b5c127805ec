"""Hosts hear of bookings and cancellations on their sessions: an email for each (the outbox rows written with
the booking change, notify.email.services.outbox) or a daily digest, or nothing. Texts to hosts, each time or
as a digest, are notify.sms's (services.hosts, services.host_digests)."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import copy_insert_new
from notify.email.conf import email_setting
from notify.email.models import EmailMessage, HostEmailPreference
from notify.email.services import content
from sessions.hosts import host_email_change, host_ids_email_verified
from volunteers.models import BookingEvent
from volunteers.selectors import roster_person

Notify = HostEmailPreference.Notify
DIGEST_EVENTS = (BookingEvent.Kind.CONFIRMED, BookingEvent.Kind.PROMOTED, BookingEvent.Kind.CANCELLED)
DIGEST_LINES_MAX = 500


def host_email_preference_get(*, host) -> str:
    return HostEmailPreference.objects.filter(host=host).values_list("notify", flat=True).first() or Notify.EACH


@transaction.atomic
def host_email_preference_set(*, host, notify: str, email: str | None = None) -> HostEmailPreference:
    """The host's choice (each, daily or off) and, if given, the address their account is emailed at. Idempotent.
    Raises InvalidInput naming the field: an unknown choice, or emails asked for without an address."""
    from core.errors import InvalidInput

    if notify not in Notify.values:
        raise InvalidInput(gettext("Choose how you want to hear of bookings."), fields={"notify": [gettext("Not a choice.")]})
    address = host.email if email is None else email.strip()
    if notify != Notify.OFF and not address:
        raise InvalidInput(gettext("Give the address to email."), fields={"email": [gettext("Required for emails.")]})
    if email is not None and address != host.email:
        if address:  # a new address is checked, and proven by a link before anything else is sent to it
            address = host_email_change(host=host, email=address)
        get_user_model().objects.filter(pk=host.pk).update(email=address)
        host.email = address
    preference, _ = HostEmailPreference.objects.update_or_create(host=host, defaults={"notify": notify})
    return preference


def _day_bounds(day) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))


def _digest_events(day):
    start, end = _day_bounds(day)
    return BookingEvent.objects.filter(created_at__gte=start, created_at__lt=end, kind__in=DIGEST_EVENTS,
                                       booking__proven_at__isnull=False)


def digest_lines(*, host_id: int, day) -> list[dict]:
    """What a host's digest for `day` lists: places taken and given back on their sessions, in order."""
    lines = []
    events = (_digest_events(day).filter(booking__slot__session__meeting_point__host_id=host_id)
              .select_related("booking__volunteer", "booking__slot__session").order_by("id")[:DIGEST_LINES_MAX])
    for event in events:
        if event.kind == BookingEvent.Kind.CANCELLED and not event.payload.get("released_place"):
            continue
        slot = event.booking.slot
        lines.append({"booked": event.kind != BookingEvent.Kind.CANCELLED,
                      "who": content.host_name(roster_person(event.booking).name), "title": slot.session.title,
                      "when": content._when(slot), "roster": content.roster_url(slot.session_id)})
    return lines


def host_digests_enqueue(*, now: datetime | None = None) -> int:
    """Beat task body: from EMAIL_HOST_DIGEST_AT, write yesterday's digest for each host who chose it and had
    bookings or cancellations, once per host and day (a unique key), whatever how often it runs. Returns how many."""
    local = timezone.localtime(now or timezone.now())
    if local.time() < email_setting("EMAIL_HOST_DIGEST_AT"):
        return 0
    day = local.date() - timedelta(days=1)
    daily = host_ids_email_verified(
        HostEmailPreference.objects.filter(notify=Notify.DAILY).values_list("host_id", flat=True))
    hosts = set(_digest_events(day).filter(booking__slot__session__meeting_point__host_id__in=daily)
                .values_list("booking__slot__session__meeting_point__host_id", flat=True).distinct())
    if not hosts:
        return 0
    with transaction.atomic():
        inserted = copy_insert_new(EmailMessage, ("host", "kind", "digest_date"),
                                   [(host_id, EmailMessage.Kind.HOST_DIGEST, day) for host_id in sorted(hosts)],
                                   unique_fields=("host", "digest_date"), returning=("id",))
        ids = [pk for (pk,) in inserted]
        if ids:
            from notify.email.services.outbox import messages_enqueue_batches

            transaction.on_commit(lambda: messages_enqueue_batches(ids))
    return len(ids)
