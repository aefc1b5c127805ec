"""Data builders for the SMS tests: a realistic session, volunteers and bookings made through the real services."""

from datetime import timedelta
from itertools import count

from django.db import transaction
from django.utils import timezone

from seats.models import Seat
from sessions.models import Slot
from tests.factories import (
    CanvassSessionFactory,
    MeetingPointFactory,
    SeatFactory,
    SlotFactory,
    UserFactory,
    VolunteerFactory,
)
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_place

_numbers = count(1)


def next_mobile() -> str:
    return f"+447700{900000 + next(_numbers):06d}"


def seat_make(*, ons_code: str = "E14000922", name: str = "Sheffield, Hallam") -> Seat:
    return SeatFactory(ons_code=ons_code, name=name, lat=53.37, lng=-1.55, priority=1, computed_priority=1)


def slot_make(*, starts_in: timedelta = timedelta(days=3), hours: int = 2, capacity: int = 10,
              title: str = "Saturday doorstep session, Crookes and Walkley",
              address: str = "27 Psalter Lane, Sheffield", what_to_bring: str = "Comfortable shoes and a charged phone",
              host_first_name: str = "Aisha") -> Slot:
    seat = seat_make()
    n = next(_numbers)
    # A host just signed up (no standing, no email), so the host's own texts and emails stay out of these tests.
    host = UserFactory(username=f"smshost{n}", first_name=host_first_name, email="", standing=False)
    point = MeetingPointFactory(host=host, name=f"{host_first_name}'s front room", address=address,
                                postcode="S11 8UX", lat=53.37, lng=-1.50, public_lat=53.37, public_lng=-1.50,
                                seat=seat, capacity=60, host_first_name=host_first_name)
    starts = (timezone.now() + starts_in).replace(second=0, microsecond=0)
    session = CanvassSessionFactory(meeting_point=point, seat=seat, title=title, what_to_bring=what_to_bring,
                                    lat=53.37, lng=-1.50, postcode_district="S11", starts_at=starts,
                                    ends_at=starts + timedelta(hours=hours))
    return SlotFactory(session=session, starts_at=starts, ends_at=starts + timedelta(hours=hours),
                       capacity=capacity, turf="")


def volunteer_make(*, name: str = "Jo Bloggs", phone: str | None = None, consent_sms: bool = True,
                   **extra) -> Volunteer:
    return VolunteerFactory(phone=phone or next_mobile(), name=name, postcode="S10 1AA", lat=53.38,
                            lng=-1.50, consent_sms=consent_sms, **extra)


def booking_make(*, slot: Slot, volunteer: Volunteer | None = None, proven: bool = True) -> Booking:
    """Book through volunteers.services, so the booking event and the SMS outbox row are written as in production
    (a proven booking, as one made by dispatch or once its code was typed)."""
    volunteer = volunteer or volunteer_make()
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        return booking_place(volunteer=locked, slot=slot, proven=proven).booking


def host_code_texted(host) -> str:
    """The code in the newest code text to the host's mobile (read from its outbox row, as the phone would)."""
    import re

    from notify.sms.models import SmsMessage

    body = SmsMessage.objects.filter(host=host, kind=SmsMessage.Kind.HOST_CODE).order_by("-id").values_list(
        "body", flat=True).first()
    return re.search(r"code (\d{6})", body).group(1)


def host_mobile_prove(host) -> None:
    """Type the code texted to the host's saved mobile, as the host would on their settings page."""
    from notify.sms.services import host_mobile_verify

    host_mobile_verify(host=host, code=host_code_texted(host), client_ip="127.0.0.1")
