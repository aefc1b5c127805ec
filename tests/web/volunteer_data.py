"""A small, realistic neighbourhood for the volunteers' pages: two bordering seats, front rooms and slots."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from seats.models import Seat
from sessions.models import CanvassSession, Slot
from tests.factories import (
    CanvassSessionFactory,
    MeetingPointFactory,
    PostcodeFactory,
    SeatFactory,
    SlotFactory,
    adjacent_seats,
    district,
)

ADDRESS = "14 Secret Gardens\nCrookes"
VOLUNTEER_POSTCODE = "S10 2TN"


@dataclass
class Neighbourhood:
    hallam: Seat
    central: Seat
    session: CanvassSession
    slot: Slot
    full_slot: Slot
    started_slot: Slot
    started_session: CanvassSession
    other_session: CanvassSession
    other_slot: Slot


def neighbourhood() -> Neighbourhood:
    hallam = SeatFactory(ons_code="E14000921", name="Sheffield Hallam", majority=2353, majority_pct=4.2,
                         valid_votes=56000, priority=1, computed_priority=1, lat=53.37, lng=-1.55)
    central = SeatFactory(ons_code="E14000919", name="Sheffield Central", majority=27748, majority_pct=55.0,
                          priority=5, computed_priority=5, lat=53.38, lng=-1.47)
    adjacent_seats(hallam, central)
    PostcodeFactory(postcode=VOLUNTEER_POSTCODE, lat=53.381, lng=-1.49, seat=hallam)
    district("S10", hallam, lat=53.38, lng=-1.50)
    room = MeetingPointFactory(seat=hallam, address=ADDRESS, postcode="S10 1ZZ", lat=53.376, lng=-1.51,
                               host_first_name="Priya", accessibility_notes="Step-free front door; downstairs loo.")
    start = (timezone.localtime() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    session = CanvassSessionFactory(meeting_point=room, title="Crookes Saturday doors", starts_at=start,
                                    ends_at=start + timedelta(hours=4), what_to_bring="Comfy shoes, a pen")
    now = timezone.now()
    started_session = CanvassSessionFactory(meeting_point=room, title="Walkley doors this morning",
                                            starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=90))
    started = SlotFactory(session=started_session, capacity=4)
    slot = SlotFactory(session=session, starts_at=start, ends_at=start + timedelta(hours=2), capacity=3,
                       turf="Odd numbers of Crookes Road")
    full = SlotFactory(session=session, starts_at=start + timedelta(hours=2), ends_at=start + timedelta(hours=4),
                       capacity=2, confirmed_count=2)
    other_room = MeetingPointFactory(seat=central, address="2 Other Street", postcode="S1 2AA", lat=53.38, lng=-1.47,
                                     host_first_name="Sam")
    other = CanvassSessionFactory(meeting_point=other_room, title="City centre evening", starts_at=start + timedelta(hours=6),
                                  ends_at=start + timedelta(hours=8), postcode_district="S1")
    other_slot = SlotFactory(session=other, starts_at=other.starts_at, ends_at=other.ends_at, capacity=5)
    return Neighbourhood(hallam, central, session, slot, full, started, started_session, other, other_slot)
