"""Plain builders for dispatch tests: seats, sessions with slots, volunteers with availability."""

import itertools
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from seats.models import Postcode, Seat, SeatAdjacency
from sessions.models import CanvassSession, MeetingPoint, Slot
from tests.factories import VolunteerFactory
from volunteers.models import AvailabilityWindow, Booking, Volunteer
from volunteers.services import booking_place

_seq = itertools.count(1)


def phone() -> str:
    return f"+4474001{next(_seq):05d}"


def seat(code: str, *, lat: float, lng: float, priority: int = 3, name: str | None = None, region: str = "Test") -> Seat:
    return Seat.objects.update_or_create(
        ons_code=code, defaults={"name": name or f"Seat {code}", "lat": lat, "lng": lng, "priority": priority,
                                 "computed_priority": priority, "region": region},
    )[0]


def adjacent(a: Seat, b: Seat) -> None:
    for x, y in ((a, b), (b, a)):
        SeatAdjacency.objects.get_or_create(from_seat=x, to_seat=y)


def postcode(code: str, *, lat: float, lng: float, seat_code: str | None = None) -> Postcode:
    return Postcode.objects.update_or_create(postcode=code, defaults={"lat": lat, "lng": lng, "seat_id": seat_code})[0]


def user(username: str = "coordinator", *, staff: bool = True):
    return get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff})[0]


def day_at(hour: int, minute: int = 0, *, days: int = 3) -> datetime:
    """A local time `days` from now, well in the future."""
    local = timezone.localtime() + timedelta(days=days)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def session(seat_obj: Seat, *, lat: float | None = None, lng: float | None = None,
            slots: list[tuple[datetime, datetime, int]] | None = None, host=None) -> CanvassSession:
    lat = seat_obj.lat if lat is None else lat
    lng = seat_obj.lng if lng is None else lng
    host = host or user(f"host-{seat_obj.pk}", staff=False)
    room = MeetingPoint.objects.create(host=host, name=f"Room in {seat_obj.name}", address="1 Test Street",
                                       postcode="S1 1AA", lat=lat, lng=lng, public_lat=lat, public_lng=lng,
                                       seat=seat_obj, capacity=60)
    slots = slots or [(day_at(10), day_at(12), 4)]
    created = CanvassSession.objects.create(
        meeting_point=room, seat=seat_obj, title=f"{seat_obj.name} canvass", lat=lat, lng=lng, postcode_district="S1",
        starts_at=min(s[0] for s in slots), ends_at=max(s[1] for s in slots),
    )
    Slot.objects.bulk_create(Slot(session=created, starts_at=a, ends_at=b, capacity=c) for a, b, c in slots)
    return created


def volunteer(*, lat: float, lng: float, max_travel_km: float | None = 20.0, windows=(), name: str = "Vol",
              seat_obj: Seat | None = None, proven: bool = True) -> Volunteer:
    """A volunteer who proved their phone (only those are dispatched), unless proven=False."""
    created = VolunteerFactory(phone=phone(), name=name, postcode="S1 1AA", lat=lat, lng=lng,
                               max_travel_km=max_travel_km, seat=seat_obj,
                               phone_verified_at=timezone.now() if proven else None)
    AvailabilityWindow.objects.bulk_create(
        AvailabilityWindow(volunteer=created, starts_at=a, ends_at=b) for a, b in windows
    )
    return created


def book(vol: Volunteer, slot: Slot, *, proven: bool = True) -> Booking:
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=vol.pk)
        return booking_place(volunteer=locked, slot=Slot.objects.select_related("session").get(pk=slot.pk),
                             proven=proven).booking


def fill(slot: Slot, *, near: Seat, n: int | None = None) -> list[Booking]:
    """Book `n` (default: capacity) direct volunteers living at the seat's centre onto the slot."""
    n = slot.capacity if n is None else n
    return [book(volunteer(lat=near.lat, lng=near.lng, max_travel_km=None), slot) for _ in range(n)]
