"""Compliant by construction: every message kind is a service or a campaign message, said here and only here, and
one gate (`may_send`) decides whether a volunteer may be sent a message of a purpose by a channel. Every send path
asks it: when a row is written (a refused message is written "skipped" with the reason, for coordinators to see)
and again when the row is claimed for sending (consent withdrawn meanwhile, or a coordinator's retry of a skipped
row, is refused then). docs/consent.md says what counts as which, and why.

- Service: codes, confirmations, changes, reminders, follow-up; answers to what the volunteer asked for, including
  an overflow redirect (a waitlisted volunteer asked for a place, and the waitlist text said one may be found
  nearby; the redirect changes that booking and can be declined) and an assignment of a "Send me where I'm
  needed" sign-up (asked to be sent).
- Campaign: calls to action, "come again", a broadcast its sender marked as a call to action. Only to volunteers
  who gave campaign consent, carrying the sender's identification and a link that withdraws it.

A kind missing here is refused (KeyError at the gate), and tests/notify/test_consent_gate.py fails for it: a new
kind cannot reach anyone before somebody decides which it is.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

SERVICE = "service"
CAMPAIGN = "campaign"

# (channel, kind) -> purpose. Hosts' kinds are service: they are about the host's own sessions and mobile.
_SERVICE_SMS = (
    "booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_redirected", "session_cancelled",
    "booking_cancelled", "venue_moved", "slot_rescheduled", "reminder_day_before", "reminder_soon",
    "booking_released", "booking_approved", "booking_refused", "phone_code", "host_booked", "host_cancelled",
    "host_code", "host_digest", "address_released", "broadcast_service",
    "host_released",  # the host told of places nobody confirmed, given to the waitlist: about their own session
    # A waitlist offer, its lapse and a release for want of a confirmation: about the volunteer's own place.
    "booking_offered", "booking_offer_lapsed", "booking_unconfirmed",
    # A lift the volunteer offered or asked for (travel): the relayed texts between its driver and riders.
    "lift_requested", "lift_accepted", "lift_rider_joined", "lift_declined", "lift_cancelled", "lift_rider_left",
    "follow_up",  # after the session: did you go, how was it (the issue names it a service message)
)
_CAMPAIGN_SMS = ("come_again", "broadcast_campaign")
_SERVICE_EMAIL = (
    "booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_redirected", "session_cancelled",
    "booking_cancelled", "venue_moved", "slot_rescheduled", "booking_approved", "booking_refused",
    "reminder_day_before", "reminder_soon", "host_booked", "host_cancelled", "host_digest", "broadcast_service",
    "host_released",
    "booking_offered", "booking_offer_lapsed", "booking_unconfirmed", "follow_up", "host_report",
)
_CAMPAIGN_EMAIL = ("broadcast_campaign",)

PURPOSES: dict[tuple[str, str], str] = {
    **{("sms", kind): SERVICE for kind in _SERVICE_SMS},
    **{("sms", kind): CAMPAIGN for kind in _CAMPAIGN_SMS},
    **{("email", kind): SERVICE for kind in _SERVICE_EMAIL},
    **{("email", kind): CAMPAIGN for kind in _CAMPAIGN_EMAIL},
}


def purpose_of(channel: str, kind: str) -> str:
    """SERVICE or CAMPAIGN; KeyError for a kind nobody tagged (it must not be sent)."""
    return PURPOSES[(channel, kind)]


def may_send(volunteer, purpose: str, channel: str) -> str:
    """Why `volunteer` must not be sent a `purpose` message by `channel` ("" if they may). `volunteer` is anything
    with the Volunteer's consent and opt-out attributes (a model, or a named tuple of its columns).

    By text: not after STOP, not to an invalid number, only with text consent. By email: an address, email
    consent, never unsubscribed. A campaign message also needs campaign consent, which STOP, an unsubscribe and the
    campaign link all withdraw: an opt-out by one channel is honoured by the other."""
    if getattr(volunteer, "anonymised_at", None) is not None:
        return "personal_data_erased"
    if channel == "sms":
        if volunteer.sms_opted_out:
            return "opted_out"
        if volunteer.phone_invalid:
            return "phone_invalid"
        if not volunteer.consent_sms:
            return "no_consent"
    elif channel == "email":
        if not volunteer.email:
            return "no_address"
        if volunteer.email_opted_out_at is not None:
            return "opted_out"
        if not volunteer.consent_email:
            return "no_consent"
    else:
        raise ValueError(f"unknown channel {channel!r}")
    if purpose == CAMPAIGN and not volunteer.consent_campaign:
        return "no_campaign_consent"
    return ""


def may_send_kind(volunteer, channel: str, kind: str) -> str:
    """may_send for the purpose of a message kind (KeyError for an untagged kind)."""
    return may_send(volunteer, purpose_of(channel, kind), channel)


def campaign_footer(*, withdraw_url: str) -> str:
    """What every campaign message ends with: who sent it (CAMPAIGN_SENDER_NAME, an imprint) and how to stop these
    messages. In the active language."""
    return gettext("From %(sender)s. Stop calls to action: %(url)s") % {
        "sender": campaign_sender(), "url": withdraw_url}


def campaign_sender() -> str:
    return getattr(settings, "CAMPAIGN_SENDER_NAME", "") or settings.SITE_NAME


def withdraw_url(volunteer_id: int) -> str:
    """The link in a campaign message that withdraws campaign consent (web.volunteer.campaign)."""
    from django.urls import reverse

    from volunteers.consent_ledger import campaign_token

    path = reverse("volunteer:campaign_withdraw", args=[campaign_token(volunteer_id)])
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"
