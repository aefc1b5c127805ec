"""Dispatch's scenario builders over tests/factories.py: seats at given coordinates, sessions with slots,
volunteers with availability."""

import itertools
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from seats.models import Postcode, Seat
from sessions.models import CanvassSession, Slot
from tests.factories import (
    AvailabilityWindowFactory,
    CanvassSessionFactory,
    MeetingPointFactory,
    PostcodeFactory,
    SeatFactory,
    SlotFactory,
    UserFactory,
    VolunteerFactory,
    adjacent_seats,
)
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_place

_seq = itertools.count(1)


def phone() -> str:
    return f"+4474001{next(_seq):05d}"


def seat(code: str, *, lat: float, lng: float, priority: int = 3, name: str | None = None, region: str = "Test") -> Seat:
    return SeatFactory(ons_code=code, name=name or f"Seat {code}", lat=lat, lng=lng, priority=priority,
                       computed_priority=priority, region=region)


def adjacent(a: Seat, b: Seat) -> None:
    adjacent_seats(a, b)


def postcode(code: str, *, lat: float, lng: float, seat_code: str | None = None) -> Postcode:
    return PostcodeFactory(postcode=code, lat=lat, lng=lng, seat=Seat.objects.get(pk=seat_code) if seat_code else None)


def user(username: str = "coordinator", *, staff: bool = True):
    """A coordinator (staff), or a host with no email address, so that no host email joins dispatch's tests."""
    return UserFactory(username=username, is_staff=staff, first_name="", email="", standing=False)


def day_at(hour: int, minute: int = 0, *, days: int = 3) -> datetime:
    """A local time `days` from now, well in the future."""
    local = timezone.localtime() + timedelta(days=days)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def session(seat_obj: Seat, *, lat: float | None = None, lng: float | None = None,
            slots: list[tuple[datetime, datetime, int]] | None = None, host=None) -> CanvassSession:
    lat = seat_obj.lat if lat is None else lat
    lng = seat_obj.lng if lng is None else lng
    host = host or user(f"host-{seat_obj.pk}", staff=False)
    room = MeetingPointFactory(host=host, name=f"Room in {seat_obj.name}", address="1 Test Street", postcode="S1 1AA",
                               lat=lat, lng=lng, seat=seat_obj, host_first_name="")
    slots = slots or [(day_at(10), day_at(12), 4)]
    created = CanvassSessionFactory(meeting_point=room, title=f"{seat_obj.name} canvass", postcode_district="S1",
                                    starts_at=min(s[0] for s in slots), ends_at=max(s[1] for s in slots))
    for starts_at, ends_at, capacity in slots:
        SlotFactory(session=created, starts_at=starts_at, ends_at=ends_at, capacity=capacity, turf="")
    return created


def volunteer(*, lat: float, lng: float, max_travel_km: float | None = 20.0, windows=(), name: str = "Vol",
              seat_obj: Seat | None = None, proven: bool = True) -> Volunteer:
    """A volunteer who proved their phone (only those are dispatched), unless proven=False."""
    created = VolunteerFactory(phone=phone(), name=name, postcode="S1 1AA", lat=lat, lng=lng,
                               max_travel_km=max_travel_km, seat=seat_obj,
                               phone_verified_at=timezone.now() if proven else None)
    for starts_at, ends_at in windows:
        AvailabilityWindowFactory(volunteer=created, starts_at=starts_at, ends_at=ends_at)
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
