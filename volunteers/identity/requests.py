"""Asking for a code: booking requests, dispatch sign-ups, "my bookings", and a resent code."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import get_by
from core.errors import Conflict, InvalidInput, InvalidState
from core.ratelimit import rate_limit
from seats.geocoding import Location, postcode_locate
from volunteers.events import phone_challenge_announce
from volunteers.identity.common import (
    ALSO,
    challenge_by_token,
    challenge_new,
    code_hash,
    code_new,
    details_said,
    email_said,
    limit_texts_to,
    windows_replace,
)
from volunteers.models import Booking, PhoneChallenge, Volunteer, new_manage_token
from volunteers.parties import party_names_clean, party_size_clean
from volunteers.phones import phone_normalise
from volunteers.services import booking_hold, hold_extend, volunteer_fields, volunteer_get_or_create


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
    # By the unique phone, in a read whose SQL is built once (get_by): the ORM's exists() cost its compilation on
    # every booking request (BENCHMARKS.md "CPU per request of the mix, in process").
    volunteer = get_by(Volunteer, "phone", phone)
    if volunteer is None or not volunteer.sms_opted_out:
        return
    sender = settings.TWILIO_FROM
    restart = (gettext("Text START to %(number)s from this phone, then try again.") % {"number": sender} if sender
               else gettext("Text START from this phone to the number our texts come from, then try again."))
    message = gettext("Texts to this number are stopped: it replied STOP to one of our texts, so we can't send "
                      "it a code.") + " " + restart
    raise Conflict(message, code="texts_stopped", fields={"phone": [message]})


def booking_request(*, slot_id: int, name: str, phone: str, postcode: str, email: str = "", consent_sms: bool,
                    client_ip: str, consent_email: bool = False, party_size: int = 1,
                    party_names="") -> PhoneChallenge:
    """Ask for a place on a slot: hold it (or a waitlist place) for the phone, unproven, and text the phone a
    code and the booking's private link. Returns the challenge, whose token is all the caller may see.

    A new phone's volunteer is written with the name, postcode and SMS consent (what a held place needs), but
    not the email (email_said: it waits on the challenge). A known phone's details are not changed (they wait
    on the challenge until the code is typed), its other bookings are not looked at (a clash is settled once the
    phone is proven), and the session's host sees only the typed first name, marked unproven. Raises InvalidInput naming the
    field for a bad phone or postcode (both at once: contact_validate), Conflict texts_stopped for a phone that
    replied STOP (texts_stopped_check: nothing held, nothing sent), NotFound/InvalidState for a slot that can't be booked (whatever the
    phone), RateLimited (429) past booking_phone, code_send_phone or sms_phone_day, which count every phone
    alike, so a limit says nothing about who holds a number. booking_ip is counted by the callers (the API's
    throttle, the page's limit_ip), before the request reaches this.
    Idempotent per (phone, slot): asking again holds nothing new and sends a new code. A party (party_size places,
    the others' first names: volunteers.parties) is one request for the limits, its places all or nothing.
    """
    party_size = party_size_clean(party_size)
    party_names = party_names_clean(party_names, party_size=party_size)
    phone, location = contact_validate(phone=phone, postcode=postcode)
    limit_texts_to(phone, scope="booking_phone")
    texts_stopped_check(phone)
    now = timezone.now()
    fields = volunteer_fields(name=name, location=location, consent_sms=consent_sms, now=now)
    challenge, code = challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.BOOKING, pending_details=details_said(
        name=name, location=location, email=email, consent_sms=consent_sms, consent_email=consent_email, now=now))
    return booking_hold(slot_id=slot_id, phone=phone, fields=fields, challenge=challenge, code=code,
                        pending_if_new=email_said(email=email, consent_email=consent_email), said_name=name,
                        party_size=party_size, party_names=party_names).challenge


def volunteer_signup_request(*, name: str, phone: str, postcode: str, max_travel_km: float, availability: list[dict],
                             email: str = "", consent_sms: bool = True, client_ip: str,
                             consent_email: bool = False, travel: str = "own", car_seats: int = 0,
                             party_size: int = 1, party_names: list[str] | str = "") -> PhoneChallenge:
    """Sign up to be dispatched: a new phone's volunteer is written with its availability, unproven (its email
    waits on the challenge, as a booking request's does: email_said); a known phone's details and windows wait
    on the challenge until the code is typed. Either way the phone is texted a code and the sign-up's private
    link (challenge.link_token: volunteers.signup, to change the choices or stop), and the caller gets only the
    challenge. Raises InvalidInput naming the field, RateLimited
    past signup_phone, code_send_phone or sms_phone_day (the same for every phone); signup_ip is the callers'
    (the API's throttle, the page's limit_ip)."""
    from volunteers.registration import signup_party_validate, signup_validate, travel_mode_validate

    phone, location = contact_validate(phone=phone, postcode=postcode)
    spans = signup_validate(max_travel_km=max_travel_km, availability=availability)
    travel, car_seats = travel_mode_validate(travel, car_seats)
    party_size, party_names = signup_party_validate(party_size, party_names)
    limit_texts_to(phone, scope="signup_phone")
    texts_stopped_check(phone)
    now = timezone.now()
    fields = {**volunteer_fields(name=name, location=location, consent_sms=consent_sms, max_travel_km=max_travel_km,
                                 now=now), "travel": travel, "car_seats": car_seats,
              "party_size": party_size, "party_names": party_names}
    windows = [[start.isoformat(), end.isoformat()] for start, end in spans]
    challenge, code = challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.SIGNUP, pending_details=details_said(
        name=name, location=location, email=email, consent_sms=consent_sms, consent_email=consent_email, now=now,
        max_travel_km=max_travel_km, travel=travel, car_seats=car_seats, party_size=party_size,
        party_names=party_names, availability=windows))
    challenge.link_token = new_manage_token()  # texted with the code; the volunteer's token once proven
    with transaction.atomic():
        volunteer, created = volunteer_get_or_create(phone=phone, fields=fields)
        if created:
            windows_replace(volunteer=volunteer, windows=windows)
            challenge.pending_details = email_said(email=email, consent_email=consent_email)
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
    challenge, code = challenge_new(phone=phone, purpose=PhoneChallenge.Purpose.MY_BOOKINGS, pending_details={})
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


def challenge_resend(*, challenge_token: str, client_ip: str) -> PhoneChallenge:
    """Text a new code for the challenge (the old one stops working), with fresh tries and expiry. Limited per
    IP (code_send_ip) and per phone (code_send_phone, sms_phone_day). Raises NotFound, InvalidState for a
    challenge already used, RateLimited."""
    rate_limit(scope="code_send_ip", key=client_ip)
    challenge = challenge_by_token(challenge_token)
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
