"""Inbound SMS: reply keywords from volunteers."""

import logging
import re

from core.errors import DomainError
from core.languages import language_override
from notify.sms.services.feedback_replies import RATING_WORDS, rating_reply
from notify.sms.services.hosts import host_sms_flags_set
from notify.sms.services.outbox import answered_by_reply
from notify.sms.texts import booking_render, text_render
from volunteers import services as volunteer_services
from volunteers.confirmations import booking_offer_accept, offer_is_open
from volunteers.consent_ledger import consent_channel_stopped
from volunteers.models import Booking, Volunteer
from volunteers.selectors import volunteer_language

logger = logging.getLogger(__name__)

# Twilio answers these itself (Advanced Opt-Out), so we record them and send no second reply.
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}
OPT_IN_WORDS = {"START", "YES", "UNSTOP"}
# The texts ask for the English words in both languages; the Welsh ones work too ("iawn", "na", "ble", "pryd").
CONFIRM_WORDS = {"OK", "OKAY", "IAWN"}
DECLINE_WORDS = {"NO", "NA"}
# The confirmation text gets lost; the address is one reply away (sent only to the booked number).
WHERE_WORDS = {"WHERE", "WHEN", "ADDRESS", "INFO", "BLE", "PRYD", "CYFEIRIAD"}


def keyword_normalise(body: str) -> str:
    """'  o k! ' → 'OK': case, spaces and punctuation do not matter."""
    return re.sub(r"[^A-Z0-9]", "", (body or "").upper())


def _reply_for_booking(template: str, booking: Booking, count: int) -> str:
    return booking_render(template, booking, others=count > 1, count=count)


def _confirm(volunteer: Volunteer) -> str:
    upcoming = [b for b in volunteer_services.bookings_for_volunteer_upcoming(volunteer=volunteer)
                if b.status == Booking.Status.CONFIRMED]
    offered = [b for b in upcoming if offer_is_open(b)]  # OK takes an open offer first (volunteers.confirmations)
    if offered:
        booking_offer_accept(booking_id=offered[0].pk)
        return _reply_for_booking("reply_offer_taken", offered[0], len(upcoming))
    upcoming = [b for b in upcoming if b.offer_expires_at is None]  # an offer past its time is not a place
    if not upcoming:
        return text_render("reply_none", {"action": "confirm"})
    booking = upcoming[0]
    volunteer_services.booking_attendance_confirm(booking_id=booking.pk)
    return _reply_for_booking("reply_ok", booking, len(upcoming))


def _decline(volunteer: Volunteer) -> str:
    upcoming = list(volunteer_services.bookings_for_volunteer_upcoming(volunteer=volunteer))
    if not upcoming:
        return text_render("reply_none", {"action": "give_up"})
    booking = upcoming[0]
    with answered_by_reply(booking.pk):  # the TwiML reply is the confirmation; no second SMS
        volunteer_services.booking_cancel(manage_token=booking.manage_token)
    return _reply_for_booking("reply_no", booking, len(upcoming))


def _where(volunteer: Volunteer) -> str:
    upcoming = list(volunteer_services.bookings_for_volunteer_upcoming(volunteer=volunteer))
    confirmed = [b for b in upcoming if b.status == Booking.Status.CONFIRMED]
    if confirmed and confirmed[0].approval == Booking.Approval.PENDING:
        return _reply_for_booking("booking_awaiting_approval", confirmed[0], len(upcoming))  # no address yet
    if confirmed:
        return _reply_for_booking("reply_where", confirmed[0], len(upcoming))
    if upcoming:
        return _reply_for_booking("reply_where_waitlisted", upcoming[0], len(upcoming))
    return text_render("reply_none", {"action": "show"})


def inbound_handle(*, from_phone: str, body: str) -> str | None:
    """_inbound_handle, answering in the language of the phone's latest booking or code (core.languages)."""
    with language_override(volunteer_language(phone=from_phone)):
        return _inbound_handle(from_phone=from_phone, body=body)


def _inbound_handle(*, from_phone: str, body: str) -> str | None:
    """Act on a volunteer's reply and return the text to answer with (None: no answer).

    OK confirms attendance of the next upcoming booking, NO gives it up (which frees the place and
    promotes the waitlist), WHERE answers with its time and address, STOP words opt out, START words
    opt back in (the volunteer and any host texted at that number). Repeats are harmless:
    confirming is idempotent and a second NO applies to the next booking, as the answer says.
    """
    keyword = keyword_normalise(body)
    volunteer = Volunteer.objects.filter(phone=from_phone).first()
    if keyword in OPT_OUT_WORDS or keyword in OPT_IN_WORDS:
        if volunteer is not None:
            volunteer_services.volunteer_sms_flags_set(volunteer_id=volunteer.pk, opted_out=keyword in OPT_OUT_WORDS)
            # The ledger records it; STOP withdraws campaign consent too, by every channel (START gives it not back).
            consent_channel_stopped(volunteer_id=volunteer.pk, channel="sms", stopped=keyword in OPT_OUT_WORDS,
                                    how="stop" if keyword in OPT_OUT_WORDS else "start")
        # A host texted at this number (notify.sms.services.hosts) opts out of, or back into, their texts too.
        host_sms_flags_set(phone=from_phone, opted_out=keyword in OPT_OUT_WORDS)
        return None
    if volunteer is not None and keyword in RATING_WORDS:  # "1".."5": the follow-up's rating (after the knock)
        return rating_reply(volunteer, keyword) or text_render("reply_help", {})
    if volunteer is not None and keyword in WHERE_WORDS:
        return _where(volunteer)
    if volunteer is not None and keyword in CONFIRM_WORDS | DECLINE_WORDS:
        try:
            return _confirm(volunteer) if keyword in CONFIRM_WORDS else _decline(volunteer)
        except DomainError as exc:
            logger.info("reply %s from volunteer %s not applied: %s", keyword, volunteer.pk, exc.message)
    return text_render("reply_help", {})
