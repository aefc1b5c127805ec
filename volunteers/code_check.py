"""The code check's common case in one statement (PostgreSQL): a booking request's right code, whose
requester said nothing that waits to be applied (a phone new to Frontroom, which is what nearly every
booking is). volunteers.identity.challenge_verify decides when it fits; every other case (SQLite, a
sign-up, a known phone's pending details, a wrong code) takes the general ORM path, which writes the
same rows.

The statement, whose SQL is built once, does what the general path's nine statements do, in the same
order of locks and inside one implicit transaction:
  v   locks the volunteer (first, as every booking change does: concurrent requests for the phone wait);
  c   counts the try and claims the code in one conditional UPDATE: still unused, unexpired, tries left,
      and still the current code (a resend that replaced it leaves the try counted and the code unclaimed);
  pv  marks the volunteer's phone proven, pb the booking, only if the code was claimed;
and it returns the booking with its volunteer, slot, session, meeting point, seat and redirect. The
booking and volunteer come from RETURNING, so they are the rows as written, after any change that
committed while the statement waited for a lock (pv and pb therefore always update their row, with
their values unchanged when it was proven already); the other rows are read as of the statement's start.
"""

import functools
from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.db import instances_from_related_row, related_select
from volunteers.models import Booking, PhoneChallenge, Volunteer

LINK_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat", "redirected_to")


def fits(challenge: PhoneChallenge) -> bool:
    """Whether the one statement can prove this challenge exactly as the general path would."""
    return (connection.vendor == "postgresql" and challenge.purpose == PhoneChallenge.Purpose.BOOKING
            and challenge.booking_id is not None and not challenge.pending_details)


def booking_prove(*, challenge: PhoneChallenge, code_hash_tried: str, now: datetime) -> tuple[bool, bool, Booking | None]:
    """Count the try, claim the code and prove the booking and phone, in one statement (the caller's transaction
    holds it together with what the proof writes). Returns (try counted, code claimed, the booking as the general
    path reads it)."""
    sql, plan = _statement()
    params = [challenge.volunteer_id, code_hash_tried, now, challenge.pk, now,
              now, timezone.now(), challenge.volunteer_id,  # as save() would: updated_at when written
              now, now, challenge.booking_id]
    # bench/booking.py: the one-statement code check took a verify from 11.7-15.0 to 6.5-10.7 ms of CPU in process and
    # the proof step from 43-50% to 67-69% of the request step's rate (BENCHMARKS.md "Proof of phone").
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counted, won, *row = cursor.fetchone()
    booking = instances_from_related_row(plan, row) if won and row[0] is not None else None
    return bool(counted), bool(won), booking


@functools.cache
def _statement() -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    volunteers, bookings, challenges = (quote(m._meta.db_table) for m in (Volunteer, Booking, PhoneChallenge))
    select, plan = related_select(Booking, LINK_RELATED, (("", "pb"), ("volunteer", "pv")))
    columns, _, joined = select.removeprefix("SELECT ").partition(" FROM ")
    sql = f"""
        WITH v AS (SELECT 1 FROM {volunteers} WHERE id = %s FOR UPDATE),
        c AS (UPDATE {challenges} SET attempts = attempts + 1,
                     verified_at = CASE WHEN code_hash = %s THEN %s::timestamptz END
              WHERE id = %s AND verified_at IS NULL AND expires_at > %s::timestamptz AND attempts < max_attempts
                AND EXISTS (SELECT 1 FROM v)
              RETURNING verified_at),
        won AS (SELECT 1 FROM c WHERE verified_at IS NOT NULL),
        pv AS (UPDATE {volunteers} SET phone_verified_at = COALESCE(phone_verified_at, %s::timestamptz),
                      updated_at = CASE WHEN phone_verified_at IS NULL THEN %s::timestamptz ELSE updated_at END
               WHERE id = %s AND EXISTS (SELECT 1 FROM won) RETURNING *),
        pb AS (UPDATE {bookings} SET proven_at = COALESCE(proven_at, %s::timestamptz),
                      updated_at = CASE WHEN proven_at IS NULL THEN %s::timestamptz ELSE updated_at END
               WHERE id = %s AND EXISTS (SELECT 1 FROM won) RETURNING *)
        SELECT (SELECT count(*) FROM c), EXISTS (SELECT 1 FROM won), {columns}
        FROM (VALUES (1)) AS one (x) LEFT JOIN ({joined}) ON true"""
    return sql, plan
