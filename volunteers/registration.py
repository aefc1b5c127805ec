"""Volunteer sign-up for dispatch: who they are, where from, how far they will go and when they are free."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from seats.geocoding import postcode_locate
from volunteers.models import AvailabilityWindow, Volunteer, new_token
from volunteers.phones import phone_normalise
from volunteers.services import volunteer_upsert

MAX_TRAVEL_KM = 100.0
MAX_WINDOWS = 50


@dataclass(frozen=True)
class Registration:
    volunteer: Volunteer
    created: bool


def _validate_windows(windows: list[dict], *, now: datetime) -> list[tuple[datetime, datetime]]:
    if not windows:
        raise InvalidInput("Give at least one availability window.", fields={"availability": ["Required."]})
    if len(windows) > MAX_WINDOWS:
        raise InvalidInput(f"At most {MAX_WINDOWS} availability windows.", fields={"availability": ["Too many."]})
    spans = []
    for index, window in enumerate(windows):
        starts_at, ends_at = window["starts_at"], window["ends_at"]
        if ends_at <= starts_at:
            raise InvalidInput("A window must end after it starts.",
                               fields={f"availability.{index}.ends_at": ["Must be after starts_at."]})
        if ends_at <= now:
            raise InvalidInput("Availability must be in the future.",
                               fields={f"availability.{index}.ends_at": ["Must be in the future."]})
        spans.append((starts_at, ends_at))
    return sorted(spans)


def volunteer_register(*, name: str, phone: str, postcode: str, max_travel_km: float, availability: list[dict],
                       email: str = "", consent_sms: bool = True) -> Registration:
    """Sign a volunteer up (or update them: one row per mobile) and replace their availability windows.

    Idempotent per phone; every sign-up issues a fresh private token, so an old link stops working.
    Raises InvalidInput naming the field for a bad phone, postcode, travel limit or window.
    """
    phone = phone_normalise(phone)
    if not 0 < max_travel_km <= MAX_TRAVEL_KM:
        raise InvalidInput(f"Travel limit must be between 0 and {MAX_TRAVEL_KM:g} km.",
                           fields={"max_travel_km": [f"Between 0 and {MAX_TRAVEL_KM:g}."]})
    spans = _validate_windows(availability, now=timezone.now())
    location = postcode_locate(postcode)
    with transaction.atomic():
        volunteer, created = volunteer_upsert(phone=phone, name=name, location=location, email=email, consent_sms=consent_sms,
                                              max_travel_km=max_travel_km)
        volunteer.token = new_token()
        volunteer.save(update_fields=["token", "updated_at"])
        AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(volunteer=volunteer, starts_at=start, ends_at=end) for start, end in spans
        )
    return Registration(volunteer, created)
