"""Writes and rules for volunteers and bookings, one module per concern; every public name is offered here too.

Capacity is guarded twice: the conditional UPDATE in sessions.services.slot_claim_place, and
the database check constraint slot_not_overbooked. A volunteer's own bookings are serialised by
locking their Volunteer row, which makes "same slot twice" and "two overlapping slots" safe
under concurrent requests.

- common: booking statuses and the helpers the others share (a status change, overlaps, lapsed holds);
- people: volunteer rows, consent fields, SMS flags;
- booking: booking_place, a place or the waitlist for a locked volunteer;
- requests: booking_hold, a booking request by phone, unproven;
- holds: how long an unproven request holds its place, and releasing lapsed holds;
- proof: booking_proven_place, what a proven phone does for its booking's place;
- waitlist: promoting the waitlist into free places (a party only when all of it fits);
- parties: a booker making their party smaller;
- cancellation, moves (booking_swap), approval, attendance: what volunteers and hosts do to a booking;
- session_changes: a session or slot cancelled, moved or rescheduled, told to its bookings;
- erasure: deleting volunteers and bookings, their places given back first;
- processing: running booking events' asynchronous handlers.
"""

from volunteers.services.approval import booking_approve, booking_refuse, bookings_approve_for_session
from volunteers.services.attendance import ATTENDANCE_STATUSES, booking_attendance_confirm, booking_attendance_record
from volunteers.services.booking import BookingResult, approval_for, booking_place
from volunteers.services.cancellation import booking_cancel, booking_cancel_locked
from volunteers.services.common import ACTIVE_STATUSES, HOLDING_STATUSES, SLOT_RELATED, booking_status_set
from volunteers.services.erasure import bookings_delete, bookings_release_before_delete, volunteer_delete
from volunteers.services.holds import (
    LAPSED_RELATED,
    bookings_release_unproven,
    hold_extend,
    hold_new,
    slot_lapsed_release,
    unproven_release_due,
)
from volunteers.services.moves import SWAPPABLE_STATUSES, booking_swap
from volunteers.services.parties import booking_party_shrink
from volunteers.services.people import (
    bookings_for_volunteer_upcoming,
    consent_email_fields,
    consent_fields,
    volunteer_fields,
    volunteer_get_or_create,
    volunteer_sms_flags_set,
)
from volunteers.services.processing import booking_event_dispatch, booking_events_requeue_stale
from volunteers.services.proof import booking_proven_place
from volunteers.services.requests import BY_REQUEST, BookingHeld, booking_hold, first_name_said
from volunteers.services.session_changes import (
    bookings_cancel_for_session,
    bookings_cancel_for_slot,
    bookings_tell_of_move,
    bookings_tell_of_reschedule,
)
from volunteers.services.waitlist import RELEASING_KINDS, booking_waitlist_promote, waitlist_promote_after_release

__all__ = [
    "ACTIVE_STATUSES",
    "ATTENDANCE_STATUSES",
    "BY_REQUEST",
    "BookingHeld",
    "BookingResult",
    "HOLDING_STATUSES",
    "LAPSED_RELATED",
    "RELEASING_KINDS",
    "SLOT_RELATED",
    "SWAPPABLE_STATUSES",
    "approval_for",
    "booking_approve",
    "booking_attendance_confirm",
    "booking_attendance_record",
    "booking_cancel",
    "booking_cancel_locked",
    "booking_party_shrink",
    "booking_event_dispatch",
    "booking_events_requeue_stale",
    "booking_hold",
    "booking_place",
    "booking_proven_place",
    "booking_refuse",
    "booking_status_set",
    "booking_swap",
    "booking_waitlist_promote",
    "bookings_approve_for_session",
    "bookings_cancel_for_session",
    "bookings_cancel_for_slot",
    "bookings_delete",
    "bookings_for_volunteer_upcoming",
    "bookings_release_before_delete",
    "bookings_release_unproven",
    "bookings_tell_of_move",
    "bookings_tell_of_reschedule",
    "consent_email_fields",
    "consent_fields",
    "first_name_said",
    "hold_extend",
    "hold_new",
    "slot_lapsed_release",
    "unproven_release_due",
    "volunteer_delete",
    "volunteer_fields",
    "volunteer_get_or_create",
    "volunteer_sms_flags_set",
    "waitlist_promote_after_release",
]
