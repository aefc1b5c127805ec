"""Phone challenges and what a request said: codes and their hashes, the limits of a text, what waits on the proof."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from core.db import get_by
from core.errors import NotFound
from core.ratelimit import rate_limits
from seats.geocoding import Location
from volunteers.consent_ledger import said_consent_apply
from volunteers.models import AvailabilityWindow, Booking, PhoneChallenge, Volunteer
from volunteers.services import consent_email_fields, consent_fields

CODE_DIGITS = 6
_TOKEN_MAX = 32  # PhoneChallenge.token's column: anything longer names no challenge
# A proof of a booking in these states asks for its place (booking_proven_place).
PLACELESS = (Booking.Status.WAITLISTED, Booking.Status.CANCELLED)

# pending_details' key for the other bookings a request for several slots holds (volunteers.booking_sets): the
# challenge's own booking is the first; one code proves them all.
ALSO = "also_booking_ids"


@dataclass(frozen=True)
class PhoneProven:
    """What a code proved that is not one booking or a sign-up: the phone (E.164), its volunteer if Frontroom has
    one (a "my bookings" code), and the bookings a request for several slots held (each proven now)."""

    phone: str
    volunteer: Volunteer | None
    bookings: tuple[Booking, ...] = ()


def code_new() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(*, challenge_token: str, code: str) -> str:
    """HMAC-SHA256 of the code, keyed with SECRET_KEY and bound to its challenge (the same code elsewhere hashes apart)."""
    message = f"{challenge_token}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def phone_mask(phone: str) -> str:
    """"+447400123456" -> "07*** ***456": enough for the requester to spot a typo, derived only from what they typed."""
    national = "0" + phone.removeprefix("+44")
    return f"{national[:2]}*** ***{national[-3:]}"


def challenge_new(*, phone: str, purpose: str, pending_details: dict) -> tuple[PhoneChallenge, str]:
    """An unsaved challenge with a fresh code (returned apart: only its hash is stored)."""
    code = code_new()
    challenge = PhoneChallenge(phone=phone, purpose=purpose, pending_details=pending_details,
                               max_attempts=settings.PHONE_CODE_MAX_ATTEMPTS,
                               expires_at=timezone.now() + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES))
    challenge.code_hash = code_hash(challenge_token=challenge.token, code=code)
    return challenge, code


def limit_texts_to(phone: str, *, scope: str) -> None:
    """The per-phone limits of a request that texts the phone: the same for every phone, known or not. Counted in
    this order in one round trip (rate_limits), the first over its count raising and the rest counting nothing."""
    rate_limits([
        (scope, phone, None, None),
        ("code_send_phone", phone, gettext("Too many codes sent to this phone. Please wait a little."), None),
        ("sms_phone_day", phone, gettext("Too many texts to this phone today. Please try tomorrow."), None),
    ])


def details_said(*, name: str, location: Location, email: str, consent_sms: bool, now: datetime, consent_email: bool = False,
          **extra) -> dict:
    """What the requester said, as JSON for pending_details (applied once the phone is proven)."""
    return {"name": name, "email": email, "postcode": location.postcode, "lat": location.lat, "lng": location.lng,
            "seat_id": location.seat_id, "consent_sms": consent_sms, "consent_email": consent_email,
            "said_at": now.isoformat(), **extra}


def email_said(*, email: str, consent_email: bool) -> dict:
    """A request's email and email consent, as they wait on the challenge even for a phone new to Frontroom.

    Emails about a booking carry its private link and the address, so an email is tied to a phone only once
    the requester has typed the code texted to it (on their own page: they hold the phone). A proof by the
    link alone proves the phone, not that whoever typed the email holds it: otherwise a stranger's mobile with
    a hostile address, proven by its owner opening the link, would send the owner's bookings to that address.
    The holder of the link can give their email on the booking's page (booking_details_update)."""
    return {"email": email, "consent_email": bool(consent_email)} if email else {}


def windows_replace(*, volunteer: Volunteer, windows: list[list[str]]) -> None:
    AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(volunteer=volunteer, starts_at=datetime.fromisoformat(start),
                           ends_at=datetime.fromisoformat(end)) for start, end in windows)


def challenge_by_token(token: str) -> PhoneChallenge:
    # SQL built once: this runs on every code check, and the ORM's compilation costs more than the query.
    challenge = get_by(PhoneChallenge, "token", token) if token and len(token) <= _TOKEN_MAX else None
    if challenge is None:
        raise NotFound(gettext("No such code request: ask for a new code."), code="unknown_challenge")
    return challenge


def details_apply(*, volunteer: Volunteer, said: dict, said_at: datetime) -> list[str]:
    """Set what a proven requester said on their volunteer; return the fields changed (for save). `said` is
    everything a known phone's request said, or only the email a new phone's request said (email_said)."""
    said = said or {}  # a new phone's request without an email: its first proof still reaches the ledger
    changes = {}
    if "postcode" in said:
        changes.update(name=said["name"], postcode=said["postcode"], lat=said["lat"], lng=said["lng"],
                       seat_id=said["seat_id"])
    if said.get("email"):
        changes["email"] = said["email"]
    if said.get("max_travel_km") is not None:
        changes["max_travel_km"] = said["max_travel_km"]
    if said.get("travel"):
        changes.update(travel=said["travel"], car_seats=said.get("car_seats") or 0)
    if said.get("party_size"):
        changes.update(party_size=said["party_size"], party_names=said.get("party_names") or "")
    if said.get("consent_sms") is not None and said["consent_sms"] != volunteer.consent_sms:
        changes.update(consent_fields(consent_sms=said["consent_sms"], now=said_at))
    if said.get("email") and said.get("consent_email") is not None:
        # Said with an address: the box ticked (again, lifting an unsubscribe) or not.
        wants = bool(said["consent_email"])
        if wants != volunteer.consent_email or (wants and volunteer.email_opted_out_at is not None):
            changes.update(consent_email_fields(consent_email=wants, now=said_at))
    # Campaign consent counts only now the phone is proven; the ledger records what this proof changed.
    changes.update(said_consent_apply(volunteer=volunteer, said=said, said_at=said_at, changes=changes))
    for field, value in changes.items():
        setattr(volunteer, field, value)
    return list(changes)
