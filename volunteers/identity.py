"""Proof of phone: who holds a number is whoever reads the texts sent to it.

Every booking request and dispatch sign-up writes a PhoneChallenge and texts the phone a 6-digit code
and (for a booking) the booking's private link. The caller gets only the challenge's public token, and the
same answer whatever the phone: known or not, booked elsewhere or not. Typing the code
(challenge_verify) or pressing "this is my phone" on the link's page (booking_prove_by_link, a POST) proves
the phone; only then does the booking show the address, and only typing the code applies what a caller
said to a volunteer that already existed (or a new phone's email). Reading the link (booking_by_link, a
GET) proves nothing: link scanners and previews open links, some with a browser's User-Agent. Nothing here
ever returns an existing booking or volunteer to a caller who has not proven the phone.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.db import get_by, get_with_related
from core.errors import Conflict, InvalidInput, InvalidState, NotFound
from core.ratelimit import rate_limit
from seats.geocoding import Location, postcode_locate
from volunteers import code_check, consent_ledger
from volunteers.code_check import LINK_RELATED
from volunteers.disclosure import front_room_disclose
from volunteers.events import booking_email_proven_announce, booking_proven_announce, phone_challenge_announce
from volunteers.models import AvailabilityWindow, Booking, PhoneChallenge, Volunteer, new_manage_token, new_token
from volunteers.phones import phone_normalise
from volunteers.services import (
    booking_hold,
    booking_proven_place,
    consent_email_fields,
    consent_fields,
    hold_extend,
    volunteer_fields,
    volunteer_get_or_create,
)

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


def _challenge_new(*, phone: str, purpose: str, pending_details: dict) -> tuple[PhoneChallenge, str]:
    """An unsaved challenge with a fresh code (returned apart: only its hash is stored)."""
    code = code_new()
    challenge = PhoneChallenge(phone=phone, purpose=purpose, pending_details=pending_details,
                               max_attempts=settings.PHONE_CODE_MAX_ATTEMPTS,
                               expires_at=timezone.now() + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES))
    challenge.code_hash = code_hash(challenge_token=challenge.token, code=code)
    return challenge, code


def _limit_texts_to(phone: str, *, scope: str) -> None:
    """The per-phone limits of a request that texts the phone: the same for every phone, known or not."""
    rate_limit(scope=scope, key=phone)
    rate_limit(scope="code_send_phone", key=phone, message=gettext("Too many codes sent to this phone. Please wait a little."))
    rate_limit(scope="sms_phone_day", key=phone, message=gettext("Too many texts to this phone today. Please try tomorrow."))


def _said(*, name: str, location: Location, email: str, consent_sms: bool, now: datetime, consent_email: bool = False,
          **extra) -> dict:
    """What the requester said, as JSON for pending_details (applied once the phone is proven)."""
    return {"name": name, "email": email, "postcode": location.postcode, "lat": location.lat, "lng": location.lng,
            "seat_id": location.seat_id, "consent_sms": consent_sms, "consent_email": consent_email,
            "said_at": now.isoformat(), **extra}


def _email_said(*, email: str, consent_email: bool) -> dict:
    """A request's email and email consent, as they wait on the challenge even for a phone new to Frontroom.

    Emails about a booking carry its private link and the address, so an email is tied to a phone only once
    the requester has typed the code texted to it (on their own page: they hold the phone). A proof by the
    link alone proves the phone, not that whoever typed the email holds it: otherwise a stranger's mobile with
    a hostile address, proven by its owner opening the link, would send the owner's bookings to that address.
    The holder of the link can give their email on the booking's page (booking_details_update)."""
    return {"email": email, "consent_email": bool(consent_email)} if email else {}


def contact_validate(*, phone: str, postcode: str) -> tuple[str, Location]:
    """The phone in E.164 and the postcode's location; InvalidInput naming every bad field at once (its
    field_codes say which error each has), so a form and the API show them together. Reads only."""
    fields, codes, first = {}, {}, None
    normalised = location = None
    try:
        normalised = phone_normalise(phone)
    except InvalidInput as exc:
        fields.update(exc.fields)
        codes.update(dict.fromkeys(exc.fields, exc.code))
        first = exc
    try:
        location = postcode_locate(postcode)
    except InvalidInput as exc:
        fields.update(exc.fields)
        codes.update(dict.fromkeys(exc.fields, exc.code))
        first = first or exc
    if first is not None:
        raise InvalidInput(first.message, code=first.code, fields=fields, field_codes=codes)
    return normalised, location


def texts_stopped_check(phone: str) -> None:
    """Refuse, before anything is held or texted, a request for a phone that replied STOP: Twilio sends it
    nothing until it replies START, so a code would never arrive. Says so, and how to restart (Conflict on the
    phone field). Telling this to whoever typed the number says only that it stopped our texts (threat model)."""
    if not Volunteer.objects.filter(phone=phone, sms_opted_out=True).exists():
        return
    sender = settings.TWILIO_FROM
    restart = (gettext("Text START to %(number)s from this phone, then try again.") % {"number": sender} if sender
               else gettext("Text START from this phone to the number our texts come from, then try again."))
    message = gettext("Texts to this number are stopped: it replied STOP to one of our texts, so we can't send "
                      "it a code.") + " " + restart
    raise Conflict(message, code="texts_stopped", fields={"phone": [message]})


def booking_request(*, slot_id: int, name: str, phone: str, postcode: str, email: str = "", consent_sms: bool,
                    client_ip: str, consent_email: bool = False) -> PhoneChallenge:
    """Ask for a place on a slot: hold it (or a waitlist place) for the phone, unproven, and text the phone a
    code and the booking's private link. Returns the challenge, whose token is all the caller may see.

    A new phone's volunteer is written with the name, postcode and SMS consent (what a held place needs), but
    not the email (_email_said: it waits on the challenge). A known phone's details are not changed (they wait
    on the challenge until the code is typed), its other bookings are not looked at (a clash is settled once the
    phone is proven), and the session's host sees only the typed first name, marked unproven. Raises InvalidInput naming the
    field for a bad phone or postcode (both at once: contact_validate), Conflict texts_stopped for a phone that
    replied STOP (texts_stopped_check: nothing held, nothing sent), NotFound/InvalidState for a slot that can't be booked (whatever the
    phone), RateLimited (429) past booking_phone, code_send_phone or sms_phone_day, which count every phone
    alike, so a limit says nothing about who holds a number. booking_ip is counted by the callers (the API's
    throttle, the page's limit_ip), before the request reaches this.
    Idempotent per (phone, slot): asking again holds nothing new and sends a new code.
    """
    phone, location = contact_validate(phone=phone, postcode=postcode)
    _limit_texts_to(phone, scope="booking_phone")
    texts_stopped_check(phone)
    now = timezone.now()
    fields = volunteer_fields(name=name, location=location, consent_sms=consent_sms, now=now)
    challenge, code = _challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.BOOKING, pending_details=_said(
        name=name, location=location, email=email, consent_sms=consent_sms, consent_email=consent_email, now=now))
    return booking_hold(slot_id=slot_id, phone=phone, fields=fields, challenge=challenge, code=code,
                        pending_if_new=_email_said(email=email, consent_email=consent_email), said_name=name).challenge


def volunteer_signup_request(*, name: str, phone: str, postcode: str, max_travel_km: float, availability: list[dict],
                             email: str = "", consent_sms: bool = True, client_ip: str,
                             consent_email: bool = False) -> PhoneChallenge:
    """Sign up to be dispatched: a new phone's volunteer is written with its availability, unproven (its email
    waits on the challenge, as a booking request's does: _email_said); a known phone's details and windows wait
    on the challenge until the code is typed. Either way the phone is texted a code and the sign-up's private
    link (challenge.link_token: volunteers.signup, to change the choices or stop), and the caller gets only the
    challenge. Raises InvalidInput naming the field, RateLimited
    past signup_phone, code_send_phone or sms_phone_day (the same for every phone); signup_ip is the callers'
    (the API's throttle, the page's limit_ip)."""
    from volunteers.registration import signup_validate

    phone, location = contact_validate(phone=phone, postcode=postcode)
    spans = signup_validate(max_travel_km=max_travel_km, availability=availability)
    _limit_texts_to(phone, scope="signup_phone")
    texts_stopped_check(phone)
    now = timezone.now()
    fields = volunteer_fields(name=name, location=location, consent_sms=consent_sms, max_travel_km=max_travel_km,
                              now=now)
    windows = [[start.isoformat(), end.isoformat()] for start, end in spans]
    challenge, code = _challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.SIGNUP, pending_details=_said(
        name=name, location=location, email=email, consent_sms=consent_sms, consent_email=consent_email, now=now,
        max_travel_km=max_travel_km,
        availability=windows))
    challenge.link_token = new_manage_token()  # texted with the code; the volunteer's token once proven
    with transaction.atomic():
        volunteer, created = volunteer_get_or_create(phone=phone, fields=fields)
        if created:
            _windows_replace(volunteer=volunteer, windows=windows)
            challenge.pending_details = _email_said(email=email, consent_email=consent_email)
        challenge.volunteer = volunteer
        challenge.save(force_insert=True)
        phone_challenge_announce(challenge=challenge, code=code, situation="signup")
    return challenge


def my_bookings_request(*, phone: str, client_ip: str) -> PhoneChallenge:
    """Text the phone a code that opens its list of bookings (/my/); the caller gets only the challenge.

    The answer is the same whether or not Frontroom knows the number, and so is the work but for one row: the
    limits are counted and a challenge written either way (its code page, tries and resends behave alike), but only
    a number Frontroom has written to before (it has a volunteer) is texted: /my/ must not let anyone text a
    stranger's phone, and a number with no volunteer has no bookings to show. The page says "if this number has
    bookings with us, we've texted it a code". Limited as a resent code is: per IP (code_send_ip) and per
    phone (code_send_phone, sms_phone_day), counted before anything is looked up. One exception, told honestly: a
    number that replied STOP gets no text, so it is told to text START first (InvalidState texts_stopped naming
    "phone"), rather than to wait for a code that never comes. Raises InvalidInput for a bad phone, RateLimited."""
    phone = phone_normalise(phone)
    rate_limit(scope="code_send_ip", key=client_ip)
    rate_limit(scope="code_send_phone", key=phone, message=gettext("Too many codes sent to this phone. Please wait a little."))
    rate_limit(scope="sms_phone_day", key=phone, message=gettext("Too many texts to this phone today. Please try tomorrow."))
    challenge, code = _challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.MY_BOOKINGS, pending_details={})
    with transaction.atomic():
        volunteer = Volunteer.objects.filter(phone=phone).first()
        if volunteer is not None and volunteer.sms_opted_out:
            raise InvalidState(
                gettext("This number replied STOP to our texts, so we can't text it a code. Text START to the number "
                        "our texts come from, then try again."), code="texts_stopped",
                fields={"phone": [gettext("Texts to this number are stopped: text START first.")]})
        challenge.volunteer = volunteer
        challenge.save(force_insert=True)
        if volunteer is not None:  # a number we never wrote to is not texted by a stranger's request
            phone_challenge_announce(challenge=challenge, code=code, situation="my_bookings")
    return challenge


def _windows_replace(*, volunteer: Volunteer, windows: list[list[str]]) -> None:
    AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(volunteer=volunteer, starts_at=datetime.fromisoformat(start),
                           ends_at=datetime.fromisoformat(end)) for start, end in windows)


def _code_clean(code) -> str:
    digits = "".join(str(code or "").split())
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(gettext("Type the %(code_digits)s-digit code from the text.") % {"code_digits": CODE_DIGITS}, code="invalid_code",
                           fields={"code": [gettext("%(code_digits)s digits.") % {"code_digits": CODE_DIGITS}]})
    return digits


def _challenge_by_token(token: str) -> PhoneChallenge:
    # SQL built once: this runs on every code check, and the ORM's compilation costs more than the query.
    challenge = get_by(PhoneChallenge, "token", token) if token and len(token) <= _TOKEN_MAX else None
    if challenge is None:
        raise NotFound(gettext("No such code request: ask for a new code."), code="unknown_challenge")
    return challenge


def _newer_code() -> InvalidInput:
    return InvalidInput(gettext("That code is not right."), code="code_wrong",
                        fields={"code": [gettext("A newer code was sent: type that one.")]})


def _refused_why(challenge: PhoneChallenge, now: datetime) -> InvalidInput:
    if challenge.verified_at is not None:
        return InvalidInput(gettext("This code has been used already."), code="code_used",
                            fields={"code": [gettext("Used already: ask for a new code.")]})
    if challenge.expires_at <= now:
        return InvalidInput(gettext("This code has expired."), code="code_expired",
                            fields={"code": [gettext("Expired: ask for a new code.")]})
    return InvalidInput(gettext("Too many wrong codes."), code="code_attempts",
                        fields={"code": [gettext("Too many wrong tries: ask for a new code.")]})


def challenge_verify(*, challenge_token: str, code: str, client_ip: str) -> Booking | Volunteer | PhoneProven:
    """Prove the phone with the code texted to it: the challenge's booking (a booking request) or volunteer
    (a sign-up) is returned, proven; what the requester said is applied to a volunteer who existed before. A
    "my bookings" code, or a request for several slots (all proven), answers with a PhoneProven.

    Each try is counted before the code is compared (in constant time), and kept even when it fails, so
    call it outside a transaction. A code proves once, for PHONE_CODE_TTL_MINUTES and
    PHONE_CODE_MAX_ATTEMPTS tries; tries are also limited per client IP (code_check_ip) and per phone
    (code_check_phone). Idempotent: the same right code again for a challenge it verified, before it expires
    (a retry whose first answer was lost), answers as the first success did, counting no try and doing
    nothing again (_proof_repeated). Raises InvalidInput with fields {"code"} (codes invalid_code, code_wrong,
    code_expired, code_attempts, code_used: any other code for a verified challenge), NotFound for an
    unknown challenge, RateLimited.
    The right code of a booking request with nothing pending (a new phone) is checked and applied by one
    statement on PostgreSQL (volunteers.code_check); the rest takes the general path, with the same effects.
    """
    rate_limit(scope="code_check_ip", key=client_ip)
    code = _code_clean(code)
    challenge = _challenge_by_token(challenge_token)
    rate_limit(scope="code_check_phone", key=challenge.phone)
    now = timezone.now()
    tried = code_hash(challenge_token=challenge.token, code=code)
    right = hmac.compare_digest(tried, challenge.code_hash)
    if right and code_check.fits(challenge):
        # What waited on the proof (the email, the webhook delivery, the host's text) is written in the proof's
        # own transaction: a process that dies in between leaves the code unclaimed, to be typed again, rather
        # than a proof whose messages were never written. Only a right code comes here, so rolling back its
        # counted try gives nobody another guess.
        with transaction.atomic():
            counted, won, booking = code_check.booking_prove(challenge=challenge, code_hash_tried=tried, now=now)
            if counted and won and booking is not None:
                booking = _proof_announce(booking=booking, proven=booking.proven_at == now,
                                          said=challenge.pending_details)
        if not counted:
            challenge.refresh_from_db()
            return _proof_repeated(challenge, code_hash_tried=tried, now=now)
        if not won:
            raise _newer_code()
        return booking
    counted = PhoneChallenge.objects.filter(
        pk=challenge.pk, verified_at__isnull=True, expires_at__gt=now, attempts__lt=F("max_attempts"),
    ).update(attempts=F("attempts") + 1)
    if not counted:
        challenge.refresh_from_db()
        return _proof_repeated(challenge, code_hash_tried=tried, now=now)
    if not right:
        left = max(0, challenge.max_attempts - challenge.attempts - 1)
        raise InvalidInput(gettext("That code is not right."), code="code_wrong",
                           fields={"code": [f"Not the code we sent: {left} tries left." if left else
                                            "Not the code we sent: ask for a new code."]})
    return _challenge_accept(challenge=challenge, code_hash_tried=tried, now=now)


@transaction.atomic
def _challenge_accept(*, challenge: PhoneChallenge, code_hash_tried: str,
                      now: datetime) -> Booking | Volunteer | PhoneProven:
    # The volunteer first, as every booking change locks it: concurrent requests for the phone wait here.
    # (A challenge's volunteer, purpose, booking and pending details never change after it is written.)
    # Only a "my bookings" code for a number Frontroom does not know has none.
    volunteer = (Volunteer.objects.select_for_update().get(pk=challenge.volunteer_id)
                 if challenge.volunteer_id is not None else None)
    # One conditional UPDATE both claims the code and checks it is still the current one: a concurrent try
    # with the same code, or a resend that replaced it, leaves no row to update.
    won = PhoneChallenge.objects.filter(pk=challenge.pk, verified_at__isnull=True,
                                        code_hash=code_hash_tried).update(verified_at=now)
    if not won:
        challenge.refresh_from_db()
        if challenge.verified_at is not None:  # the same code, typed at the same moment, proved it first
            return _proof_repeated(challenge, code_hash_tried=code_hash_tried, now=now)
        raise _newer_code()
    challenge.verified_at = now
    if volunteer is None:
        return PhoneProven(phone=challenge.phone, volunteer=None)
    changed = _details_apply(volunteer=volunteer, said=challenge.pending_details, said_at=challenge.created_at)
    if volunteer.phone_verified_at is None:
        volunteer.phone_verified_at = now
        changed.append("phone_verified_at")
    if challenge.purpose == PhoneChallenge.Purpose.SIGNUP:
        if challenge.pending_details.get("availability") is not None:
            _windows_replace(volunteer=volunteer, windows=challenge.pending_details["availability"])
        # The link texted with this code becomes the private token: a fresh one per proven sign-up, so an older
        # one stops working.
        volunteer.token = challenge.link_token or new_token()
        changed.append("token")
    if changed:
        volunteer.save(update_fields=[*changed, "updated_at"])
    if challenge.purpose == PhoneChallenge.Purpose.MY_BOOKINGS:
        return PhoneProven(phone=challenge.phone, volunteer=volunteer)
    if challenge.purpose == PhoneChallenge.Purpose.SIGNUP or challenge.booking_id is None:
        return volunteer
    proven = Booking.objects.filter(pk=challenge.booking_id, proven_at__isnull=True).update(proven_at=now,
                                                                                            updated_at=now)
    # One statement whose SQL is built once (the ORM's select_related compilation cost more than the query).
    booking = get_with_related(Booking, challenge.booking_id, related=LINK_RELATED)
    booking = _proof_announce(booking=booking, proven=bool(proven), said=challenge.pending_details)
    if not challenge.pending_details.get(ALSO):
        return booking
    # A request for several slots: the one code proves every place it held (the email, if said, was applied above
    # and announced with the first).
    bookings = [booking]
    for other_id in challenge.pending_details[ALSO]:
        other_proven = Booking.objects.filter(pk=other_id, volunteer_id=volunteer.pk, proven_at__isnull=True).update(
            proven_at=now, updated_at=now)
        other = get_with_related(Booking, other_id, related=LINK_RELATED)
        if other is not None:
            bookings.append(_proof_announce(booking=other, proven=bool(other_proven), said={}))
    return PhoneProven(phone=challenge.phone, volunteer=volunteer, bookings=tuple(bookings))


def _proof_announce(*, booking: Booking, proven: bool, said: dict) -> Booking:
    """What a right code sends, in its transaction: booking_proven when the code proved the booking; when the link
    had proven it already and the request said an email (applied only now), booking_email_proven, so the
    confirmation that waited for a proven address goes (its receivers write it once, whichever code is typed).
    Then a proven booking still waiting, or released because its hold lapsed, asks for its place
    (booking_proven_place), and its front room is metered for the answer (volunteers.disclosure). Call it with the
    phone (the volunteer row) locked. Returns the booking as it stands."""
    if proven:
        booking_proven_announce(booking=booking)
    elif said.get("email"):
        booking_email_proven_announce(booking=booking)
    # Only a booking without a place has anything to ask (the common proof costs no statement more).
    if booking.status in PLACELESS and booking_proven_place(booking_id=booking.pk):
        booking = get_with_related(Booking, booking.pk, related=LINK_RELATED)
    # The proof's answer (the API's, or the page it leads to) shows the front room: it is metered here, where the
    # phone is locked already, in one statement (after the commit the answer's own front_room_disclose needed a
    # read, a lock and the count in a transaction of their own: BENCHMARKS.md, issue 20); the answer then finds
    # the room shown before, in one read.
    front_room_disclose(booking=booking, path="proof", phone_locked=True)
    return booking


def _proof_repeated(challenge: PhoneChallenge, *, code_hash_tried: str,
                    now: datetime) -> Booking | Volunteer | PhoneProven:
    """The answer to a code tried on a challenge that counted no try (as read after that): when this code verified
    the challenge and has not expired, the first success's answer again (its reply was lost and the client
    retries), read afresh and with no side effect (no try counted, no signal, nothing applied or texted again);
    otherwise raises why the code is refused."""
    if (challenge.verified_at is not None and challenge.expires_at > now
            and hmac.compare_digest(code_hash_tried, challenge.code_hash)):
        if challenge.purpose == PhoneChallenge.Purpose.MY_BOOKINGS:
            return PhoneProven(phone=challenge.phone,
                               volunteer=Volunteer.objects.filter(pk=challenge.volunteer_id).first())
        if challenge.purpose == PhoneChallenge.Purpose.SIGNUP or challenge.booking_id is None:
            return Volunteer.objects.get(pk=challenge.volunteer_id)
        booking = get_with_related(Booking, challenge.booking_id, related=LINK_RELATED)
        if not challenge.pending_details.get(ALSO):
            return booking
        others = [get_with_related(Booking, pk, related=LINK_RELATED) for pk in challenge.pending_details[ALSO]]
        return PhoneProven(phone=challenge.phone, volunteer=booking.volunteer,
                           bookings=(booking, *[other for other in others if other is not None]))
    raise _refused_why(challenge, now)


def _details_apply(*, volunteer: Volunteer, said: dict, said_at: datetime) -> list[str]:
    """Set what a proven requester said on their volunteer; return the fields changed (for save). `said` is
    everything a known phone's request said, or only the email a new phone's request said (_email_said)."""
    said = said or {}  # a new phone's request without an email: its first proof still reaches the ledger
    changes = {}
    if "postcode" in said:
        changes.update(name=said["name"], postcode=said["postcode"], lat=said["lat"], lng=said["lng"],
                       seat_id=said["seat_id"])
    if said.get("email"):
        changes["email"] = said["email"]
    if said.get("max_travel_km") is not None:
        changes["max_travel_km"] = said["max_travel_km"]
    if said.get("consent_sms") is not None and said["consent_sms"] != volunteer.consent_sms:
        changes.update(consent_fields(consent_sms=said["consent_sms"], now=said_at))
    if said.get("email") and said.get("consent_email") is not None:
        # Said with an address: the box ticked (again, lifting an unsubscribe) or not.
        wants = bool(said["consent_email"])
        if wants != volunteer.consent_email or (wants and volunteer.email_opted_out_at is not None):
            changes.update(consent_email_fields(consent_email=wants, now=said_at))
    changes.update(consent_ledger.said_consent_apply(volunteer=volunteer, said=said, said_at=said_at, changes=changes))
    for field, value in changes.items():
        setattr(volunteer, field, value)
    return list(changes)


def challenge_resend(*, challenge_token: str, client_ip: str) -> PhoneChallenge:
    """Text a new code for the challenge (the old one stops working), with fresh tries and expiry. Limited per
    IP (code_send_ip) and per phone (code_send_phone, sms_phone_day). Raises NotFound, InvalidState for a
    challenge already used, RateLimited."""
    rate_limit(scope="code_send_ip", key=client_ip)
    challenge = _challenge_by_token(challenge_token)
    rate_limit(scope="code_send_phone", key=challenge.phone, message=gettext("Too many codes sent to this phone. Please wait."))
    rate_limit(scope="sms_phone_day", key=challenge.phone, message=gettext("Too many texts to this phone today."))
    with transaction.atomic():
        Volunteer.objects.select_for_update().filter(pk=challenge.volunteer_id).first()
        challenge = (PhoneChallenge.objects.select_for_update(of=("self",))
                     .select_related("volunteer", "booking__slot__session__meeting_point", "booking__slot__session__seat")
                     .get(pk=challenge.pk))
        if challenge.verified_at is not None:
            raise InvalidState(gettext("This code has been used already."), code="code_used",
                               fields={"code": [gettext("Used already.")]})
        code = code_new()
        challenge.code_hash = code_hash(challenge_token=challenge.token, code=code)
        challenge.sends += 1
        challenge.attempts = 0
        challenge.expires_at = timezone.now() + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES)
        challenge.save(update_fields=["code_hash", "sends", "attempts", "expires_at"])
        if challenge.booking is not None:
            for booking in Booking.objects.select_for_update(of=("self",)).filter(
                    pk__in=[challenge.booking_id, *challenge.pending_details.get(ALSO, [])]).order_by("pk"):
                hold_extend(booking=booking)
        if challenge.volunteer_id is not None:  # as my_bookings_request: a number we never wrote to is not texted
            phone_challenge_announce(challenge=challenge, code=code, situation=_situation(challenge))
    return challenge


def _situation(challenge: PhoneChallenge) -> str:
    """What a resent text says: the booking as it stands now."""
    if challenge.purpose == PhoneChallenge.Purpose.MY_BOOKINGS:
        return "my_bookings"
    if challenge.pending_details.get(ALSO):
        return "booked_several"
    if challenge.purpose == PhoneChallenge.Purpose.SIGNUP or challenge.booking is None:
        return "signup"
    return "booked"


def booking_by_link(*, manage_token: str) -> Booking:
    """The booking behind a private link, with its slot, session, meeting point and volunteer, as it stands.
    Reading it proves nothing: mail and SMS scanners and messaging apps open texted links before (or instead
    of) the person, some with a browser's User-Agent. Raises NotFound."""
    return _booking_by_link(manage_token)


def booking_prove_by_link(*, manage_token: str) -> Booking:
    """The holder of a private link says that the phone it was texted to is theirs (a deliberate act: the
    page's "this is my phone" button, a POST): the booking and the volunteer's phone are marked proven, and
    booking_proven is sent once. Applies nothing the request said (that waits for the code). Idempotent.
    Raises NotFound."""
    booking = _booking_by_link(manage_token)
    if booking.proven_at is None or booking.volunteer.phone_verified_at is None:
        now = timezone.now()
        if booking.proven_at is None:
            with transaction.atomic():
                Volunteer.objects.select_for_update().filter(pk=booking.volunteer_id).first()  # first, as ever
                if Booking.objects.filter(pk=booking.pk, proven_at__isnull=True).update(proven_at=now, updated_at=now):
                    booking.proven_at = now
                    booking_proven_announce(booking=booking)
                    if booking.status in PLACELESS and booking_proven_place(booking_id=booking.pk):
                        booking = _booking_by_link(manage_token)
            booking.proven_at = now
        if booking.volunteer.phone_verified_at is None:
            Volunteer.objects.filter(pk=booking.volunteer_id, phone_verified_at__isnull=True).update(
                phone_verified_at=now)
            booking.volunteer.phone_verified_at = now
    return booking


def _booking_by_link(manage_token: str) -> Booking:
    booking = (Booking.objects.select_related(*LINK_RELATED).filter(manage_token=manage_token).first()
               if manage_token and len(manage_token) <= 64 else None)
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking


ADDRESS_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)


def booking_shows_address(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether the booking's own view shows the exact address, meeting place, host's first name and turf: a place
    (confirmed or attended) on a slot that has not ended, the phone proven, and the host's approval if asked."""
    return (booking.status in ADDRESS_STATUSES and booking.proven_at is not None
            and booking.approval in (Booking.Approval.NOT_REQUIRED, Booking.Approval.APPROVED)
            and booking.slot.ends_at > (now or timezone.now()))


def booking_details_update(*, manage_token: str, name: str | None = None, email: str | None = None,
                           postcode: str | None = None, consent_sms: bool | None = None,
                           consent_email: bool | None = None) -> Booking:
    """The holder of a private link changes their own details (fields left None stay). Sending them through the
    link (a POST) is as deliberate as booking_prove_by_link, so the booking is marked proven too. Raises
    NotFound, InvalidInput naming the field."""
    location = postcode_locate(postcode) if postcode else None
    if name is not None and not name.strip():
        raise InvalidInput(gettext("Give your name."), fields={"name": [gettext("Required.")]})
    with transaction.atomic():
        booking = _booking_by_link(manage_token)
        volunteer = Volunteer.objects.select_for_update().get(pk=booking.volunteer_id)
        now = timezone.now()
        changes: dict = {}
        if name is not None:
            changes["name"] = name.strip()
        if email is not None:
            changes["email"] = email
        if location is not None:
            changes.update(postcode=location.postcode, lat=location.lat, lng=location.lng, seat_id=location.seat_id)
        if consent_sms is not None and consent_sms != volunteer.consent_sms:
            changes.update(consent_fields(consent_sms=consent_sms, now=now))
        if consent_email is not None and (consent_email != volunteer.consent_email
                                          or (consent_email and volunteer.email_opted_out_at is not None)):
            changes.update(consent_email_fields(consent_email=consent_email, now=now))
        if volunteer.phone_verified_at is None:
            changes["phone_verified_at"] = now
        for field, value in changes.items():
            setattr(volunteer, field, value)
        if changes:
            volunteer.save(update_fields=[*changes, "updated_at"])
        if Booking.objects.filter(pk=booking.pk, proven_at__isnull=True).update(proven_at=now, updated_at=now):
            booking_proven_announce(booking=_booking_by_link(manage_token))
            booking_proven_place(booking_id=booking.pk)
    return _booking_by_link(manage_token)
