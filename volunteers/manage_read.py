"""The private link's page (/b/<token>) in one indexed read: what a surge of texted links costs (bench/surge.py).

booking_page_read is the booking behind the link with its slot, session, meeting point, seat and volunteer
(identity.booking_by_link's joins), and, as correlated subqueries of the same statement, the few facts the page
used to ask for one by one: whether this phone was shown this front room before (the disclosure ledger), its
calendar feed, whether another proven place of the phone clashes in time, and whether this device is remembered
for it. Each subquery is an index lookup (the ledger's unique key, the feed's owner key, the phone's bookings,
the device's token hash). Read-only: no ledger touch, no last_used_at touch (both are refreshed by other paths;
a first showing is still recorded, once, by volunteers.disclosure when the page is the first to show the room).
The statement is written once (core.db.related_select): built by the ORM, its compilation was 40% of the page's
CPU (BENCHMARKS.md, "Texted-link surge").
"""

import functools
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from core.db import instances_from_related_row, related_select
from core.errors import NotFound
from sessions.models import CanvassSession, Slot
from volunteers.code_check import LINK_RELATED
from volunteers.devices import device_token_hash
from volunteers.models import Booking, CalendarFeed, FrontRoomDisclosure, RememberedDevice, Volunteer

MAX_TOKEN = 64


@dataclass(frozen=True)
class BookingPage:
    booking: Booking
    room_known: bool  # the phone was shown this booking's front room before: showing it again writes nothing
    feed: CalendarFeed | None
    clash_id: int | None  # another proven, confirmed place of the phone at an overlapping time
    device_remembered: bool


@functools.cache
def _statement(with_device: bool) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    select, plan = related_select(Booking, LINK_RELATED)
    alias = {path: f"t{n}" for n, (path, _, _) in enumerate(plan)}  # related_select names them in plan order
    slot, session = alias["slot"], alias["slot__session"]

    def table(model) -> str:
        return quote(model._meta.db_table)

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    volunteer_id, meeting_point_id = column(Booking, "volunteer"), column(CanvassSession, "meeting_point")
    starts, ends = column(Slot, "starts_at"), column(Slot, "ends_at")
    feed = (f"FROM {table(CalendarFeed)} f WHERE f.{column(CalendarFeed, 'volunteer')} = t0.{volunteer_id} "
            f"AND f.{column(CalendarFeed, 'kind')} = %s")
    device = "false"
    if with_device:
        device = (f"EXISTS (SELECT 1 FROM {table(RememberedDevice)} r JOIN {table(Volunteer)} rv "
                  f"ON rv.id = r.{column(RememberedDevice, 'volunteer')} "
                  f"WHERE r.{column(RememberedDevice, 'token_hash')} = %s AND r.{column(RememberedDevice, 'expires_at')} > %s "
                  f"AND r.{column(RememberedDevice, 'volunteer')} = t0.{volunteer_id} "
                  f"AND rv.{column(Volunteer, 'anonymised_at')} IS NULL)")
    sql = f"""{select.replace(" FROM ", f''', EXISTS (SELECT 1 FROM {table(FrontRoomDisclosure)} d
            WHERE d.{column(FrontRoomDisclosure, 'volunteer')} = t0.{volunteer_id}
              AND d.{column(FrontRoomDisclosure, 'meeting_point')} = {session}.{meeting_point_id}),
        (SELECT f.id {feed}), (SELECT f.{column(CalendarFeed, 'secret')} {feed}),
        (SELECT b.id FROM {table(Booking)} b JOIN {table(Slot)} s ON s.id = b.{column(Booking, 'slot')}
            WHERE b.{volunteer_id} = t0.{volunteer_id} AND b.{column(Booking, 'status')} = %s
              AND b.{column(Booking, 'proven_at')} IS NOT NULL AND s.{starts} < {slot}.{ends}
              AND s.{ends} > {slot}.{starts} AND b.id <> t0.id ORDER BY s.{starts}, b.id LIMIT 1),
        {device}
        FROM ''', 1)} WHERE t0.{column(Booking, 'manage_token')} = %s"""
    return sql, plan


def booking_page_read(*, manage_token: str, device_token: str | None = None) -> BookingPage:
    """The booking behind a private link and what its page needs, in one statement. Raises NotFound."""
    if not manage_token or len(manage_token) > MAX_TOKEN:
        raise NotFound(gettext("No booking with this link."))
    token_hash = device_token_hash(device_token)
    sql, plan = _statement(token_hash is not None)
    kind = CalendarFeed.Kind.VOLUNTEER
    params = [kind, kind, Booking.Status.CONFIRMED]
    if token_hash is not None:
        params += [token_hash, connection.ops.adapt_datetimefield_value(timezone.now())]
    # bench/surge.py: built by the ORM, the compilation was 40% of the page's CPU; the one read took the surge to
    # 0.56x main's CPU (BENCHMARKS.md "Texted-link surge").
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, manage_token])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(gettext("No booking with this link."))
    booking = instances_from_related_row(plan, row[:-5])
    room_known, feed_id, feed_secret, clash_id, device = row[-5:]
    feed = None
    if feed_id is not None:
        feed = CalendarFeed(pk=feed_id, kind=kind, secret=feed_secret, volunteer_id=booking.volunteer_id)
    return BookingPage(booking=booking, room_known=bool(room_known), feed=feed, clash_id=clash_id,
                       device_remembered=bool(device))
