"""Data for the coordinators' page tests: real 2024-set seats (the current set, drawn on its maps), a full seat
with a waitlist and open neighbours."""

from dataclasses import dataclass

from notify.sms.models import SmsMessage
from seats.models import Seat
from sessions.models import Slot
from tests.dispatch import factories as f
from tests.factories import SmsMessageFactory, UserFactory
from volunteers.models import Booking

# Croydon South, Croydon West and Croydon East: each borders the other two (constituency_adjacency_2024set.csv);
# their centres are the postcode-weighted ones of constituency_centroids_2024set.csv.
FULL, NEAR, FAR = "E14001187", "E14001188", "E14001186"


@dataclass
class Area:
    full: Seat
    near: Seat
    far: Seat
    full_slot: Slot
    near_slot: Slot
    waiting: list[Booking]


def staff(username: str = "coord", password: str = "a-long-password-9"):
    return UserFactory(username=username, password=password, is_staff=True, first_name="Casey", email="",
                       standing=False)


def area(*, waiting: int = 2, settings=None) -> Area:
    """Croydon South full (capacity 2) with `waiting` waitlisted; Croydon West open next door; Croydon East,
    also next door, has no sessions. Priorities and Croydon South's result are the real GE2024 ones."""
    full = f.seat(FULL, lat=51.33156, lng=-0.11298, priority=1, name="Croydon South", region="London")
    near = f.seat(NEAR, lat=51.38172, lng=-0.10034, priority=5, name="Croydon West", region="London")
    far = f.seat(FAR, lat=51.37043, lng=-0.05344, priority=4, name="Croydon East", region="London")
    Seat.objects.filter(pk=FULL).update(winner="Con", runner_up="Lab", majority=2313, valid_votes=49378,
                                        majority_pct=4.68, election_year=2024, result="Con hold")
    f.adjacent(full, near)
    f.adjacent(full, far)
    full_slot = f.session(full, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    near_slot = f.session(near, slots=[(f.day_at(10), f.day_at(12), 5)]).slots.get()
    f.fill(full_slot, near=full)
    queue = [f.book(f.volunteer(lat=full.lat, lng=full.lng, max_travel_km=None, name=f"Waiting Person{i}"), full_slot)
             for i in range(waiting)]
    return Area(full, near, far, full_slot, near_slot, queue)


def sms(booking: Booking, *, status: str, error_code: int | None = None, skip_reason: str = "",
        attempts: int = 1, kind: str = SmsMessage.Kind.CONFIRMED) -> SmsMessage:
    return SmsMessageFactory(
        volunteer=booking.volunteer, booking=booking, kind=kind, version=booking.version + 100 + attempts,
        to=booking.volunteer.phone, body=f"Hi {booking.volunteer.name}, see http://127.0.0.1:8000/b/{booking.manage_token}",
        encoding="GSM-7", segments=1, status=status, skip_reason=skip_reason, error_code=error_code,
        error_message="Unknown destination" if error_code else "", attempts=attempts,
        twilio_sid=("SM" + "0" * 31 + str(attempts)) if status in ("queued", "sent", "delivered", "undelivered") else None,
    )
