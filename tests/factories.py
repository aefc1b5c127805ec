"""The suite's one way to build rows: factory_boy factories for the models (seats, postcodes, users, meeting points,
sessions, slots, volunteers, bookings), plus the few helpers that go through a service because the rows it writes
with them are the point (`book`, `booking_ask`: a booking request with its challenge and text). tests/README.md
has the rule."""

from datetime import timedelta
from itertools import count

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from seats.models import Postcode, PostcodeDistrict, Seat, SeatAdjacency
from sessions.models import CanvassSession, HostStanding, MeetingPoint, Slot
from volunteers.models import Booking, Volunteer

_phones = count(100000)


def next_mobile() -> str:
    """A distinct, valid UK mobile number in E.164."""
    return f"+447400{next(_phones):06d}"


class SeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seat
        django_get_or_create = ("ons_code",)

    ons_code = factory.Sequence(lambda n: f"E1490{n:04d}")
    name = factory.Sequence(lambda n: f"Testshire {n}")
    nation = "England"
    region = "Yorkshire and The Humber"
    lat = 53.38
    lng = -1.47
    winner = "Lab"
    runner_up = "Con"
    majority = 1000
    valid_votes = 50000
    majority_pct = 2.0
    computed_priority = 1
    priority = 1


class PostcodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Postcode
        django_get_or_create = ("postcode",)

    postcode = "S10 1AA"
    lat = 53.38
    lng = -1.50
    seat = factory.SubFactory(SeatFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"host{n}")
    first_name = "Hana"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("a-long-password-9")

    @factory.post_generation
    def standing(obj, create, extracted, **kwargs):
        """A host who proved their address and is trusted (their sessions publish at once), as most tests need;
        `UserFactory(standing=False)` is a host just signed up: nothing proven, sessions vetted."""
        if create and extracted is not False:
            HostStanding.objects.get_or_create(host=obj, defaults={"email_verified": obj.email, "trusted": True})


class MeetingPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeetingPoint

    host = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Front room {n}")
    address = "1 Test Street\nSheffield"
    postcode = "S10 1AA"
    lat = 53.38
    lng = -1.50
    # At the door unless a test says otherwise, so that search tests place sessions where they mean to;
    # meeting_point_create draws the real offset (tests/api/test_public_location.py).
    public_lat = factory.SelfAttribute("lat")
    public_lng = factory.SelfAttribute("lng")
    seat = factory.SubFactory(SeatFactory)
    capacity = 60
    host_first_name = "Hana"


class CanvassSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CanvassSession

    meeting_point = factory.SubFactory(MeetingPointFactory)
    seat = factory.SelfAttribute("meeting_point.seat")
    title = factory.Sequence(lambda n: f"Door-knocking {n}")
    lat = factory.SelfAttribute("meeting_point.public_lat")
    lng = factory.SelfAttribute("meeting_point.public_lng")
    postcode_district = "S10"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=2))


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    session = factory.SubFactory(CanvassSessionFactory)
    starts_at = factory.SelfAttribute("session.starts_at")
    ends_at = factory.SelfAttribute("session.ends_at")
    capacity = 10
    turf = "Odd numbers on Test Street"


class VolunteerFactory(factory.django.DjangoModelFactory):
    """A row only: no consent to texts unless given (`consent_sms=True`), no proven phone, no booking."""

    class Meta:
        model = Volunteer

    phone = factory.LazyFunction(next_mobile)
    name = "Ann Volunteer"
    postcode = "S10 1AA"
    lat = 53.38
    lng = -1.50


class BookingFactory(factory.django.DjangoModelFactory):
    """A row only, written past the services: no booking event, no outbox row, no place taken on the slot. A test
    about what a booking change does books through a service (`book`, or tests/sms/factories.booking_make)."""

    class Meta:
        model = Booking

    volunteer = factory.SubFactory(VolunteerFactory)
    slot = factory.SubFactory(SlotFactory)
    status = Booking.Status.CONFIRMED


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def api_client_for(user) -> APIClient:
    """An API client that sends `user`'s token with every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def seat_with_neighbour() -> tuple[Seat, Seat]:
    first, second = SeatFactory(), SeatFactory(lat=53.40, lng=-1.45, priority=3, computed_priority=3)
    SeatAdjacency.objects.create(from_seat=first, to_seat=second)
    SeatAdjacency.objects.create(from_seat=second, to_seat=first)
    return first, second


def district(outcode: str, seat: Seat, lat: float = 53.38, lng: float = -1.50) -> PostcodeDistrict:
    return PostcodeDistrict.objects.get_or_create(outcode=outcode, defaults={"lat": lat, "lng": lng, "seat": seat})[0]


def texted_code(challenge_token: str) -> str:
    """The code the phone was texted for this challenge (the latest send), read from the SMS outbox."""
    import re

    from notify.sms.models import SmsMessage

    body = SmsMessage.objects.filter(challenge__token=challenge_token).order_by("-version").values_list(
        "body", flat=True).first()
    assert body, f"no code text for challenge {challenge_token}"
    return re.search(r"code (\d{6})", body).group(1)


def book(slot, phone: str | None = None, *, name: str = "Ann Volunteer", postcode: str | None = None,
         email: str = "", consent_sms: bool = True, proven: bool = False, client_ip: str = "198.51.100.7"):
    """A booking request through the service, as the API makes it; the held booking (proven if asked: by the link,
    or with an email by the texted code, as the email is kept only then)."""
    from volunteers.identity import booking_prove_by_link, booking_request, challenge_verify

    challenge = booking_request(slot_id=slot.id, name=name, phone=phone or next_mobile(),
                                postcode=postcode or slot.session.meeting_point.postcode, email=email,
                                consent_sms=consent_sms, client_ip=client_ip)
    booking = challenge.booking
    if proven and email:
        booking = challenge_verify(challenge_token=challenge.token, code=texted_code(challenge.token),
                                   client_ip=client_ip)
    elif proven:
        booking = booking_prove_by_link(manage_token=booking.manage_token)
    return booking


def book_via_api(api, slot, **body):
    """POST a booking request, then the texted code: the proven booking's JSON (the two steps a volunteer takes)."""
    from tests.api.conftest import booking_body

    asked = api.post(f"/api/slots/{slot.id}/bookings/", booking_body(**body), format="json")
    assert asked.status_code == 202, asked.content
    token = asked.json()["challenge"]
    proven = api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert proven.status_code == 200, proven.content
    return proven.json()


_client_ips = count(1)


def booking_ask(*, slot_id: int, name: str, phone: str, postcode: str, consent_sms: bool = True, email: str = "",
                **party):
    """identity.booking_request from a fresh client address each call (tests about bookings, not about limits);
    the challenge, whose .booking is the booking held."""
    from volunteers.identity import booking_request

    n = next(_client_ips)
    return booking_request(slot_id=slot_id, name=name, phone=phone, postcode=postcode, consent_sms=consent_sms,
                           email=email, client_ip=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", **party)
