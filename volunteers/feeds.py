"""Private iCal feeds (docs/calendars.md): a host's sessions, slot by slot with the places booked, and a volunteer's
bookings. Whoever holds the URL reads the feed, so the token is long and random, never stored as such, and
resettable; a wrong token is NotFound like any other."""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from icalendar import Event

from core.errors import NotFound
from core.languages import language_override
from sessions.hosts import host_language
from sessions.models import CanvassSession, Slot
from volunteers.calendar import BOOKING_RELATED, booking_event, calendar_domain, calendar_new
from volunteers.disclosure import front_rooms_known_to
from volunteers.models import Booking, CalendarFeed, Volunteer
from volunteers.selectors import volunteer_language

# Tokens are 43 url-safe characters (256 bits); anything else in the URL is not looked up at all.
TOKEN_LENGTH = 43
CHUNK = 500


def _token_of(secret: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"frontroom-calendar-feed:{secret}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def _hash_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_token(feed: CalendarFeed) -> str:
    return _token_of(feed.secret)


def feed_url(feed: CalendarFeed) -> str:
    """The feed's private address, PUBLIC_BASE_URL + /feeds/<kind>/<token>.ics (web.feeds serves it)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/feeds/{feed.kind}/{feed_token(feed)}.ics"


def _owner(host, volunteer) -> dict:
    if (host is None) == (volunteer is None):
        raise ValueError("a feed belongs to a host or to a volunteer")
    if host is not None:
        return {"kind": CalendarFeed.Kind.HOST, "host": host}
    return {"kind": CalendarFeed.Kind.VOLUNTEER, "volunteer": volunteer}


def calendar_feed_for(*, host=None, volunteer: Volunteer | None = None) -> CalendarFeed | None:
    """The owner's feed, if they asked for one."""
    owner = _owner(host, volunteer)
    return CalendarFeed.objects.filter(**owner).first()


def calendar_feed_ensure(*, host=None, volunteer: Volunteer | None = None) -> CalendarFeed:
    """The owner's feed, made on first call with a fresh token. Idempotent (one feed per owner, by constraint)."""
    owner = _owner(host, volunteer)
    feed = CalendarFeed.objects.filter(**owner).first()
    if feed is not None:
        return feed
    secret = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(secret=secret, token_hash=_hash_of(_token_of(secret)), **owner)
    except IntegrityError:  # a concurrent first call made it
        return CalendarFeed.objects.get(**owner)


@transaction.atomic
def calendar_feed_reset(*, host=None, volunteer: Volunteer | None = None) -> CalendarFeed:
    """A new token for the owner's feed (made if missing): the old URL answers 404 from now on."""
    feed = calendar_feed_ensure(host=host, volunteer=volunteer)
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    feed.secret = secrets.token_urlsafe(32)
    feed.token_hash = _hash_of(_token_of(feed.secret))
    feed.reset_at = timezone.now()
    feed.save(update_fields=["secret", "token_hash", "reset_at"])
    return feed


def calendar_feed_by_token(*, kind: str, token: str) -> CalendarFeed:
    """The feed behind a URL's token, with its owner. Raises NotFound for any token that is not a live feed of
    this kind (wrong, reset, another kind, an erased volunteer, a deactivated host): all alike."""
    if not token or len(token) != TOKEN_LENGTH:
        raise NotFound(gettext("No such feed."))
    feed = (CalendarFeed.objects.select_related("host", "volunteer")
            .filter(token_hash=_hash_of(token), kind=kind).first())
    # The row was found by the token's hash; comparing the token itself in constant time costs nothing and
    # keeps the check honest if the lookup ever changes.
    if feed is None or not hmac.compare_digest(feed_token(feed), token):
        raise NotFound(gettext("No such feed."))
    if feed.kind == CalendarFeed.Kind.HOST and not feed.host.is_active:
        raise NotFound(gettext("No such feed."))
    if feed.kind == CalendarFeed.Kind.VOLUNTEER and feed.volunteer.anonymised_at is not None:
        raise NotFound(gettext("No such feed."))
    return feed


def _since(now: datetime) -> datetime:
    # Ended and cancelled events stay this long, so a subscribed calendar sees the cancellation and removes them.
    return now - timedelta(days=settings.CALENDAR_FEED_PAST_DAYS)


def volunteer_feed_calendar(*, volunteer: Volunteer, now: datetime | None = None) -> bytes:
    """Every booking of the volunteer on a slot that ended at most CALENDAR_FEED_PAST_DAYS ago, one event each
    (volunteers.calendar.booking_event: the address only where the booking shows it, cancelled ones cancelled), in
    the phone's language: a calendar app fetching the feed says nothing of it."""
    with language_override(volunteer_language(phone=volunteer.phone)):
        return _volunteer_feed_calendar(volunteer=volunteer, now=now)


def _volunteer_feed_calendar(*, volunteer: Volunteer, now: datetime | None) -> bytes:
    now = now or timezone.now()
    cal = calendar_new(method="PUBLISH", name=_("Frontroom: my canvassing"))
    bookings = (Booking.objects.filter(volunteer=volunteer, slot__ends_at__gt=_since(now))
                .select_related(*BOOKING_RELATED).order_by("slot__starts_at", "id"))
    known = front_rooms_known_to(volunteer_id=volunteer.pk)  # one query, not one per booking
    for booking in bookings.iterator(chunk_size=CHUNK):
        cal.add_component(booking_event(booking, now=now, path="feed.volunteer", known_rooms=known))
    return cal.to_ical()


def _slot_sequence(session: CanvassSession) -> int:
    # Slots carry no version; the session's updated_at moves on every edit, reschedule and cancellation.
    # Minutes keep it well inside RFC 5545's 32-bit INTEGER.
    return int(session.updated_at.timestamp() // 60) - 27_000_000


def host_feed_calendar(*, user, now: datetime | None = None) -> bytes:
    """Every slot of the host's sessions that ended at most CALENDAR_FEED_PAST_DAYS ago: one event per slot, with
    the places booked and the waitlist, the host's own address, and a link to the session's page. No volunteer's
    name or number: a feed URL can end up shared with a calendar. In the host's language."""
    with language_override(host_language(host_id=user.pk)):
        return _host_feed_calendar(user=user, now=now)


def _host_feed_calendar(*, user, now: datetime | None) -> bytes:
    now = now or timezone.now()
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    cal = calendar_new(method="PUBLISH", name=_("Frontroom: my sessions"))
    slots = (Slot.objects.filter(session__meeting_point__host=user, ends_at__gt=_since(now))
             .select_related("session__meeting_point", "session__seat")
             .annotate(waitlisted=Sum("bookings__party_size", filter=Q(bookings__status=Booking.Status.WAITLISTED),
                                default=0))
             .order_by("starts_at", "id"))
    for slot in slots.iterator(chunk_size=CHUNK):
        session = slot.session
        cancelled = session.status == CanvassSession.Status.CANCELLED
        point = session.meeting_point
        link = f"{base}/host/sessions/{session.pk}/"
        event = Event()
        event.add("uid", f"slot-{slot.pk}@{calendar_domain()}")
        event.add("dtstamp", now)
        event.add("sequence", max(0, _slot_sequence(session)))
        event.add("dtstart", slot.starts_at)
        event.add("dtend", slot.ends_at)
        event.add("summary", _("Hosting: %(title)s (%(booked)s/%(capacity)s booked)")
                  % {"title": session.title, "booked": slot.confirmed_count, "capacity": slot.capacity})
        event.add("location", f"{' '.join(point.address.split())}, {point.postcode}")
        lines = [_("This session is cancelled.")] if cancelled else []
        lines.append(_("Places booked: %(booked)s of %(capacity)s") % {"booked": slot.confirmed_count,
                                                                       "capacity": slot.capacity})
        if slot.waitlisted:
            lines.append(_("Waiting list: %(count)s") % {"count": slot.waitlisted})
        lines.append(_("Who is coming: %(url)s") % {"url": link})
        event.add("description", "\n".join(lines))
        event.add("url", link)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()


def calendar_feed_body(feed: CalendarFeed, *, now: datetime | None = None) -> bytes:
    if feed.kind == CalendarFeed.Kind.HOST:
        return host_feed_calendar(user=feed.host, now=now)
    return volunteer_feed_calendar(volunteer=feed.volunteer, now=now)
