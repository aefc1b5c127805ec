"""The private link's page (/b/<token>) in one indexed read: what a surge of texted links costs (bench/surge.py).

booking_page_read is the booking behind the link with its slot, session, meeting point, seat and volunteer
(identity.booking_by_link's joins), and, as correlated subqueries of the same statement, the few facts the page
used to ask for one by one: whether this phone was shown this front room before (the disclosure ledger), its
calendar feed, whether another proven place of the phone clashes in time, and whether this device is remembered
for it. Each subquery is an index lookup (the ledger's unique key, the feed's owner key, the phone's bookings,
the device's token hash). Read-only: no ledger touch, no last_used_at touch (both are refreshed by other paths;
a first showing is still recorded, once, by volunteers.disclosure when the page is the first to show the room).
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from core.errors import NotFound
from volunteers.code_check import LINK_RELATED
from volunteers.devices import device_of
from volunteers.models import Booking, CalendarFeed, FrontRoomDisclosure

MAX_TOKEN = 64


@dataclass(frozen=True)
class BookingPage:
    booking: Booking
    room_known: bool  # the phone was shown this booking's front room before: showing it again writes nothing
    feed: CalendarFeed | None
    clash_id: int | None  # another proven, confirmed place of the phone at an overlapping time
    device_remembered: bool


def booking_page_read(*, manage_token: str, device_token: str | None = None) -> BookingPage:
    """The booking behind a private link and what its page needs, in one statement. Raises NotFound."""
    if not manage_token or len(manage_token) > MAX_TOKEN:
        raise NotFound("No booking with this link.")
    feeds = CalendarFeed.objects.filter(volunteer_id=OuterRef("volunteer_id"), kind=CalendarFeed.Kind.VOLUNTEER)
    clash = (Booking.objects.filter(
        volunteer_id=OuterRef("volunteer_id"), status=Booking.Status.CONFIRMED, proven_at__isnull=False,
        slot__starts_at__lt=OuterRef("slot__ends_at"), slot__ends_at__gt=OuterRef("slot__starts_at"),
    ).exclude(pk=OuterRef("pk")).order_by("slot__starts_at", "id").values("id")[:1])
    booking = (Booking.objects.select_related(*LINK_RELATED).filter(manage_token=manage_token).annotate(
        page_room_known=Exists(FrontRoomDisclosure.objects.filter(
            volunteer_id=OuterRef("volunteer_id"), meeting_point_id=OuterRef("slot__session__meeting_point_id"))),
        page_feed_id=Subquery(feeds.values("id")[:1]), page_feed_secret=Subquery(feeds.values("secret")[:1]),
        page_clash_id=Subquery(clash),
        page_device=device_of(token=device_token, volunteer_id=OuterRef("volunteer_id"), now=timezone.now()),
    ).first())
    if booking is None:
        raise NotFound("No booking with this link.")
    feed = None
    if booking.page_feed_id is not None:
        feed = CalendarFeed(pk=booking.page_feed_id, kind=CalendarFeed.Kind.VOLUNTEER, secret=booking.page_feed_secret,
                            volunteer_id=booking.volunteer_id)
    return BookingPage(booking=booking, room_known=booking.page_room_known, feed=feed,
                       clash_id=booking.page_clash_id, device_remembered=bool(booking.page_device))
