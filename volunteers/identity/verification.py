"""Typing the code: challenge_verify proves the phone and applies what the request said."""

import hmac
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.db import get_with_related
from core.errors import InvalidInput
from core.ratelimit import rate_limit
from volunteers import code_check
from volunteers.code_check import LINK_RELATED
from volunteers.disclosure import front_room_disclose
from volunteers.events import booking_email_proven_announce, booking_proven_announce
from volunteers.identity.common import (
    ALSO,
    CODE_DIGITS,
    PLACELESS,
    PhoneProven,
    challenge_by_token,
    code_hash,
    details_apply,
    windows_replace,
)
from volunteers.models import Booking, PhoneChallenge, Volunteer, new_token
from volunteers.services import booking_proven_place


def _code_clean(code) -> str:
    digits = "".join(str(code or "").split())
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(gettext("Type the %(code_digits)s-digit code from the text.") % {"code_digits": CODE_DIGITS}, code="invalid_code",
                           fields={"code": [gettext("%(code_digits)s digits.") % {"code_digits": CODE_DIGITS}]})
    return digits


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
    challenge = challenge_by_token(challenge_token)
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
    changed = details_apply(volunteer=volunteer, said=challenge.pending_details, said_at=challenge.created_at)
    if volunteer.phone_verified_at is None:
        volunteer.phone_verified_at = now
        changed.append("phone_verified_at")
    if challenge.purpose == PhoneChallenge.Purpose.SIGNUP:
        if challenge.pending_details.get("availability") is not None:
            windows_replace(volunteer=volunteer, windows=challenge.pending_details["availability"])
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
