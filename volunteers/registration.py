"""Volunteer sign-up for dispatch: who they are, where from, how far they will go and when they are free."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput

MAX_TRAVEL_KM = 100.0
MAX_WINDOWS = 50


def _validate_windows(windows: list[dict], *, now: datetime) -> list[tuple[datetime, datetime]]:
    if not windows:
        raise InvalidInput(gettext("Give at least one availability window."), fields={"availability": [gettext("Required.")]})
    if len(windows) > MAX_WINDOWS:
        raise InvalidInput(gettext("At most %(max_windows)s availability windows.") % {"max_windows": MAX_WINDOWS}, fields={"availability": [gettext("Too many.")]})
    spans = []
    for index, window in enumerate(windows):
        starts_at, ends_at = window["starts_at"], window["ends_at"]
        if ends_at <= starts_at:
            raise InvalidInput(gettext("A window must end after it starts."), code="date_order",
                               fields={f"availability.{index}.ends_at": [gettext("Must be after starts_at.")]})
        if ends_at <= now:
            raise InvalidInput(gettext("Availability must be in the future."), code="in_the_past",
                               fields={f"availability.{index}.ends_at": [gettext("Must be in the future.")]})
        spans.append((starts_at, ends_at))
    return sorted(spans)


def availability_validate(availability: list[dict]) -> list[tuple[datetime, datetime]]:
    """Check availability windows ({"starts_at", "ends_at"}); return them sorted. Raises InvalidInput naming the
    field."""
    return _validate_windows(availability, now=timezone.now())


def signup_validate(*, max_travel_km: float, availability: list[dict]) -> list[tuple[datetime, datetime]]:
    """Check a sign-up's travel limit and windows; return the windows sorted. Raises InvalidInput naming the field.

    The sign-up itself is volunteers.identity.volunteer_signup_request: it proves the phone before a known
    volunteer's details or windows change.
    """
    travel_validate(max_travel_km)
    return availability_validate(availability)


def travel_mode_validate(travel: str, car_seats: int) -> tuple[str, int]:
    """How a sign-up gets to a session (Volunteer.Travel) and, for a driver, the seats for others (1-7; none for
    anyone else). Raises InvalidInput naming the field."""
    from volunteers.models import Volunteer

    if travel not in Volunteer.Travel.values:
        raise InvalidInput(gettext("Choose how you get there."), code="invalid_travel",
                           fields={"travel": [gettext("Choose how you get there.")]})
    if travel != Volunteer.Travel.DRIVER:
        return travel, 0
    if not 1 <= car_seats <= 7:
        raise InvalidInput(gettext("Say how many other volunteers your car can take (1 to 7)."), code="invalid_seats",
                           fields={"car_seats": [gettext("Between 1 and 7.")]})
    return travel, car_seats


def signup_party_validate(party_size, party_names) -> tuple[int, str]:
    """A sign-up's party (docs/parties.md): its size, the volunteer included (1..PARTY_MAX), and the others'
    optional first names as stored. The same rules as a booking's party; raises InvalidInput naming the field."""
    from volunteers.parties import party_names_clean, party_size_clean

    size = party_size_clean(party_size)
    return size, party_names_clean(party_names or "", party_size=size)


def travel_validate(max_travel_km: float) -> None:
    if not 0 < max_travel_km <= MAX_TRAVEL_KM:
        raise InvalidInput(gettext("Travel limit must be between 0 and %(max_travel_km)s km.") % {"max_travel_km": format(MAX_TRAVEL_KM, "g")},
                           fields={"max_travel_km": [gettext("Between 0 and %(max_travel_km)s.") % {"max_travel_km": format(MAX_TRAVEL_KM, "g")}]})
