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


def gb_seats_load(shared_data) -> list[Seat]:
    """Every 2010-set seat at its population-weighted centre, 2017 priority band, and the real adjacency.
    Loading again refreshes the seats (bench/ runs it on a database it keeps between runs)."""
    import csv

    from seats.services import seat_priority_compute

    with (shared_data / "elections" / "ge2017_ge2019_summary.csv").open(encoding="utf-8") as handle:
        results = {row["ons_id"]: row for row in csv.DictReader(handle)}
    seats = []
    with (shared_data / "geo" / "constituency_centroids_2010set.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            result = results.get(row["ons_id"], {})
            majority = float(result["majority_pct_2017"]) if result.get("majority_pct_2017") else None
            priority = seat_priority_compute(majority_pct=majority)
            seats.append(Seat(ons_code=row["ons_id"], name=row["constituency_name"],
                              lat=float(row["postcode_weighted_lat"] or row["centroid_lat"]),
                              lng=float(row["postcode_weighted_long"] or row["centroid_long"]),
                              region=result.get("region_name", ""), computed_priority=priority, priority=priority))
    Seat.objects.bulk_create(seats, update_conflicts=True, unique_fields=["ons_code"],
                             update_fields=["name", "lat", "lng", "region", "computed_priority", "priority"])
    pairs = []
    with (shared_data / "geo" / "constituency_adjacency_2010set.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = row["adjacency_type"] if row["adjacency_type"] in SeatAdjacency.Kind.values else "shared_border"
            for a, b in ((row["ons_id_a"], row["ons_id_b"]), (row["ons_id_b"], row["ons_id_a"])):
                pairs.append(SeatAdjacency(from_seat_id=a, to_seat_id=b, kind=kind,
                                           shared_border_km=float(row["shared_border_km"] or 0)))
    SeatAdjacency.objects.bulk_create(pairs, ignore_conflicts=True)
    return seats
