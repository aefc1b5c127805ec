"""A dispatch sign-up's private link (/n/<token>): see the choices, change them, or stop.

The link is texted with the sign-up's code (PhoneChallenge.link_token) and becomes the volunteer's token once the
code proves the phone (volunteers.identity); a newer proven sign-up replaces it, and erasing the volunteer's data
draws another, so an old link stops working. Whoever holds it holds the phone it was texted to. Before the code
is typed the link names no volunteer: its page sends the holder to type the code (signup_pending_challenge).
Stopping removes every availability window: the assignment and the suggestions only use a volunteer's windows,
so a stopped sign-up is sent nowhere until its holder chooses days again.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import NotFound
from seats.geocoding import postcode_locate
from volunteers.models import AvailabilityWindow, PhoneChallenge, Volunteer
from volunteers.registration import (
    availability_validate,
    signup_party_validate,
    travel_mode_validate,
    travel_validate,
)

_TOKEN_MAX = 64  # Volunteer.token's column


def signup_by_link(*, token: str) -> Volunteer:
    """The proven sign-up behind a private link. Raises NotFound."""
    volunteer = (Volunteer.objects.filter(token=token, phone_verified_at__isnull=False, anonymised_at__isnull=True)
                 .first() if token and len(token) <= _TOKEN_MAX else None)
    if volunteer is None:
        raise NotFound(gettext("No sign-up with this link."), code="unknown_signup")
    return volunteer


def signup_pending_challenge(*, token: str) -> str | None:
    """The public token of the code request that texted this link, while its code is still to be typed (the link
    was opened first): the page to type it on. None otherwise."""
    if not token or len(token) > 32:
        return None
    return (PhoneChallenge.objects.filter(link_token=token, purpose=PhoneChallenge.Purpose.SIGNUP,
                                          verified_at__isnull=True).values_list("token", flat=True).first())


def signup_challenge_is(*, challenge_token: str) -> bool:
    """Whether a code request is a sign-up's (its "check your phone" page says what a sign-up's code does)."""
    return bool(challenge_token) and len(challenge_token) <= 32 and PhoneChallenge.objects.filter(
        token=challenge_token, purpose=PhoneChallenge.Purpose.SIGNUP).exists()


def signup_windows(volunteer: Volunteer) -> list[tuple]:
    """The volunteer's windows that have not ended, in order: what the assignment may still use."""
    return list(AvailabilityWindow.objects.filter(volunteer=volunteer, ends_at__gt=timezone.now())
                .order_by("starts_at").values_list("starts_at", "ends_at"))


def signup_change(*, token: str, availability: list[dict] | None = None, max_travel_km: float | None = None,
                  postcode: str | None = None, travel: str | None = None, car_seats: int = 0,
                  party_size: int | None = None, party_names: list[str] | str = "") -> Volunteer:
    """Change what is given (None: unchanged): the availability is replaced (a stopped sign-up is back on the
    list), the travel limit, how they travel, their party and the postcode or district set. Raises NotFound, InvalidInput naming the field;
    writes nothing on error. Idempotent: the same change again leaves the same rows."""
    volunteer = signup_by_link(token=token)
    if max_travel_km is not None:
        travel_validate(max_travel_km)
    spans = availability_validate(availability) if availability is not None else None
    mode = travel_mode_validate(travel, car_seats) if travel is not None else None
    party = signup_party_validate(party_size, party_names) if party_size is not None else None
    location = postcode_locate(postcode) if postcode else None
    with transaction.atomic():
        volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        changed = []
        if max_travel_km is not None:
            volunteer.max_travel_km = max_travel_km
            changed.append("max_travel_km")
        if mode is not None:
            volunteer.travel, volunteer.car_seats = mode
            changed += ["travel", "car_seats"]
        if party is not None:
            volunteer.party_size, volunteer.party_names = party
            changed += ["party_size", "party_names"]
        if location is not None:
            volunteer.postcode, volunteer.lat, volunteer.lng = location.postcode, location.lat, location.lng
            volunteer.seat_id = location.seat_id
            changed += ["postcode", "lat", "lng", "seat"]
        if changed:
            volunteer.save(update_fields=[*changed, "updated_at"])
        if spans is not None:
            AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
            AvailabilityWindow.objects.bulk_create(
                AvailabilityWindow(volunteer=volunteer, starts_at=start, ends_at=end) for start, end in spans)
    return volunteer


def signup_stop(*, token: str) -> Volunteer:
    """Stop being sent anywhere: every availability window is removed, so no assignment run or suggestion uses
    the volunteer (their bookings stay as they are). Raises NotFound. Idempotent."""
    volunteer = signup_by_link(token=token)
    with transaction.atomic():
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
    return volunteer

