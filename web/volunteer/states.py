"""Every state a booking can be in, as its private page tells it: what is true now, where the address stands,
and the one thing to do next (issue 22). The state is read from the booking, its latest event (why it ended)
and its overflow move (dispatch.services.overflow.booking_redirect_move); nothing here changes anything.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from volunteers.confirmations import confirm_required
from volunteers.models import Booking, BookingEvent

Status = Booking.Status


class State(TextChoices):  # TextChoices: templates may name its members (State.LAPSED)
    REQUESTED = "requested"                  # asked for a place; the phone not proven yet
    REQUESTED_WAITLIST = "requested_waitlist"  # asked to join a full slot's waitlist; not proven yet
    LAPSED = "lapsed"                        # nobody proved the phone in time: the place went back (released)
    HELD = "held"                            # a place held while it is confirmed (status pending)
    AWAITING_HOST = "awaiting_host"          # proven, the host approves each volunteer and hasn't yet
    ADDRESS_HELD = "address_held"            # booked; the address waits for an organiser (disclosure cap)
    CONFIRMED = "confirmed"                  # booked, the address shows
    WAITLISTED = "waitlisted"                # proven, on a full slot's waitlist
    REDIRECT_OFFERED = "redirect_offered"    # a place found for them nearby when their first choice was full
    REDIRECTED = "redirected"                # their first choice, which they were moved from
    REDIRECT_DECLINED = "redirect_declined"  # the place found for them, which they turned down
    MOVED = "moved"                          # they moved to another slot themselves
    CANCELLED = "cancelled"                  # they cancelled
    SESSION_CANCELLED = "session_cancelled"  # the host cancelled the session
    REFUSED = "refused"                      # the host can't take them
    PAST = "past"                            # the slot is over (they had a place)
    PAST_NO_PLACE = "past_no_place"          # the slot is over and no place opened for them
    ATTENDED = "attended"                    # the host recorded them there
    NO_SHOW = "no_show"                      # the host recorded them missing
    # volunteers.confirmations (issue 25)
    OFFERED = "offered"                      # a place offered from the waitlist, theirs if taken by a deadline
    OFFER_LAPSED = "offer_lapsed"            # the offer was not taken in time: it went to the next waiter
    CONFIRM_ASKED = "confirm_asked"          # booked, starting by tomorrow, not yet confirmed "I'm coming"
    UNCONFIRMED = "unconfirmed"              # not confirmed by the deadline: the place went to the waitlist


class Action(TextChoices):
    PROVE = "prove"              # "This is my phone" (which asks for the place again once it lapsed)
    NOTHING = "nothing"          # nothing to do: see you there
    LEAVE_WAITLIST = "leave_waitlist"
    DECLINE_REDIRECT = "decline_redirect"
    SEE_NEW_PLACE = "see_new_place"
    SEE_FIRST_CHOICE = "see_first_choice"
    FIND_ANOTHER = "find_another"
    ACCEPT_OFFER = "accept_offer"  # "Take the place"
    CONFIRM = "confirm"            # "I'm coming"
    REBOOK = "rebook"              # back to the session's page, to book again


@dataclass(frozen=True)
class Told:
    state: State
    badge: str
    badge_class: str  # ok, warn, bad or ""
    says: str
    where: str  # beside the district when the address doesn't show ("" for nothing)
    action: Action


def booking_state(*, booking: Booking, now: datetime, address_shown: bool, address_held: bool,
                  move=None, ending_kind: str | None = None, moved_to: Booking | None = None) -> State:
    """The one state the booking is in. `move` is its OverflowMove (either end), `ending_kind` the kind of the
    event that ended it (volunteers.selectors.booking_ending_kind), `moved_to` the booking a swap made from it."""
    ended = booking.slot.ends_at <= now
    status = booking.status
    if status == Status.ATTENDED:
        return State.ATTENDED
    if status == Status.NO_SHOW:
        return State.NO_SHOW
    if status == Status.REDIRECTED:
        return State.REDIRECTED
    if status == Status.CANCELLED:
        if moved_to is not None:
            return State.MOVED
        if move is not None and move.to_booking_id == booking.pk and move.declined_at is not None:
            return State.REDIRECT_DECLINED
        if booking.approval == Booking.Approval.REFUSED or ending_kind == BookingEvent.Kind.REFUSED:
            return State.REFUSED
        if ending_kind == BookingEvent.Kind.SESSION_CANCELLED:
            return State.SESSION_CANCELLED
        if ending_kind == BookingEvent.Kind.RELEASED:
            return State.LAPSED
        if ending_kind == BookingEvent.Kind.OFFER_LAPSED:
            return State.OFFER_LAPSED
        if ending_kind == BookingEvent.Kind.UNCONFIRMED:
            return State.UNCONFIRMED
        return State.CANCELLED
    if ended:
        return State.PAST if status == Status.CONFIRMED and booking.proven_at is not None else State.PAST_NO_PLACE
    if booking.proven_at is None:
        if booking.held_until is not None and booking.held_until <= now:
            return State.LAPSED
        return State.REQUESTED_WAITLIST if status == Status.WAITLISTED else State.REQUESTED
    if status == Status.WAITLISTED:
        return State.WAITLISTED
    if booking.approval == Booking.Approval.PENDING:
        return State.AWAITING_HOST
    if status == Status.PENDING:
        return State.HELD
    if move is not None and move.to_booking_id == booking.pk and move.declined_at is None:
        return State.REDIRECT_OFFERED
    if booking.offer_expires_at is not None:
        return State.OFFERED
    if address_held and not address_shown:
        return State.ADDRESS_HELD
    if confirm_asked(booking, now) and confirm_required(booking.slot.session):
        return State.CONFIRM_ASKED  # the place goes to the waitlist if not confirmed: the page says so first
    return State.CONFIRMED


def confirm_asked(booking: Booking, now: datetime) -> bool:
    """Whether the page offers "I'm coming": a proven place, not confirmed yet, from the day before (when the
    reminder asks for it)."""
    day = timezone.localtime(now).date() + timedelta(days=2)
    return (booking.status == Status.CONFIRMED and booking.proven_at is not None and booking.offer_expires_at is None
            and booking.attendance_confirmed_at is None and booking.slot.ends_at > now
            and booking.slot.starts_at < timezone.make_aware(datetime.combine(day, datetime.min.time())))


def booking_told(state: State, *, approval_needed: bool = False, until: str = "", confirm_by: str = "") -> Told:
    """What the page says for a state, in words, and the one action that fits it. `until`: when an offer lapses;
    `confirm_by`: the deadline of a session that releases places not confirmed (both as the page shows a time)."""
    please_confirm = _("You're booked. Please confirm you're still coming.")
    if confirm_by:
        please_confirm = _("You're booked. Please confirm you're still coming by %(time)s: places not confirmed by "
                           "then go to people on the waitlist.") % {"time": confirm_by}
    address_on_proof = _("The exact address shows here once you confirm this is your phone.")
    if approval_needed:
        address_on_proof = _("The exact address shows here once you confirm this is your phone and the host "
                             "approves you.")
    if_place_opens = _("If a place opens for you, we text you and the exact address shows here.")
    told = {
        State.REQUESTED: (_("Requested"), "warn", _(
            "You've asked for a place. We hold it only for a short while: confirm this is your phone to keep it."),
            address_on_proof, Action.PROVE),
        State.REQUESTED_WAITLIST: (_("Requested"), "warn", _(
            "This slot is full: you've asked to join its waitlist. Confirm this is your phone to keep your turn."),
            if_place_opens, Action.PROVE),
        State.LAPSED: (_("Released"), "bad", _(
            "Nobody confirmed the phone in time, so this place went back for someone else. If this is your phone, "
            "you can ask for it again."), "", Action.PROVE),
        State.HELD: (_("Held"), "warn", _("Your place is held while we confirm it. We text you when it's confirmed."),
                     _("The exact address shows here once your place is confirmed."), Action.NOTHING),
        State.AWAITING_HOST: (_("Waiting for the host's answer"), "warn", _(
            "Your place is held. The host approves each volunteer for this session; we text you the address once "
            "they have."), _("The exact address shows here once the host approves you."), Action.NOTHING),
        State.ADDRESS_HELD: (_("Booked"), "ok", _("You're booked. An organiser will check and send you the address."),
                             _("An organiser will check and send the address."), Action.NOTHING),
        State.CONFIRMED: (_("Booked"), "ok", _("You're booked. See you there!"), "", Action.NOTHING),
        State.WAITLISTED: (_("On the waitlist"), "warn", _(
            "This slot is full. You're on its waitlist: we text you the moment a place opens."),
            if_place_opens, Action.LEAVE_WAITLIST),
        State.REDIRECT_OFFERED: (_("Booked nearby"), "ok", _(
            "Your first choice was full, so we booked you a place at this session nearby, where you're needed. "
            "If you'd rather wait for your first choice, decline the move."), "", Action.DECLINE_REDIRECT),
        State.REDIRECTED: (_("Moved"), "warn", _(
            "This slot was full, so we booked you a place at a session nearby that has room."), "",
            Action.SEE_NEW_PLACE),
        State.REDIRECT_DECLINED: (_("Declined"), "", _(
            "You turned this place down, so it went to someone else. You're back on your first choice's waitlist."),
            "", Action.SEE_FIRST_CHOICE),
        State.MOVED: (_("Moved"), "", _("You moved to another slot; this one is released."), "",
                      Action.SEE_NEW_PLACE),
        State.CANCELLED: (_("Cancelled"), "bad", _("You cancelled this place. Thank you for letting the host know."),
                          "", Action.FIND_ANOTHER),
        State.SESSION_CANCELLED: (_("Session cancelled"), "bad", _(
            "The host has cancelled this session, so your place is cancelled too. Sorry: there are other sessions "
            "that need you."), "", Action.FIND_ANOTHER),
        State.REFUSED: (_("Not this time"), "bad", _(
            "The host can't take you on this session. You're needed elsewhere too: find another session."), "",
            Action.FIND_ANOTHER),
        State.PAST: (_("Over"), "", _("This slot has ended. Thank you!"), "", Action.NOTHING),
        State.PAST_NO_PLACE: (_("Over"), "", _("This slot has ended, and no place opened for you. Thank you for "
                                              "offering: there are other sessions that need you."), "",
                              Action.FIND_ANOTHER),
        State.ATTENDED: (_("Thank you"), "ok", _("You came: thank you!"), "", Action.FIND_ANOTHER),
        State.NO_SHOW: (_("Missed"), "", _("The host recorded that you couldn't make it. There are other sessions "
                                           "that need you."), "", Action.FIND_ANOTHER),
        State.OFFERED: (_("Place offered"), "warn", _(
            "A place opened up for you. It's yours if you take it by %(time)s; after that it goes to the next person "
            "waiting.") % {"time": until}, _("The exact address shows here once you take the place."),
            Action.ACCEPT_OFFER),
        State.OFFER_LAPSED: (_("Gone to someone else"), "", _(
            "The place we offered you wasn't taken in time, so it went to the next person waiting. There are other "
            "sessions that need you."), "", Action.FIND_ANOTHER),
        State.CONFIRM_ASKED: (_("Booked"), "ok", please_confirm, "", Action.CONFIRM),
        State.UNCONFIRMED: (_("Released (not confirmed in time)"), "bad", _(
            "Your place wasn't confirmed in time, so it went to someone on the waitlist. If you can still come, book "
            "again: if the slot is full you join its waitlist."), "", Action.REBOOK),
    }[state]
    return Told(state, *told)
