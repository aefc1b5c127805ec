"""The suite's one way to build rows: factory_boy factories for the models (seats and their neighbours, postcodes and
districts, users and hosts' standing, organisers' scopes, meeting points, sessions, slots, volunteers and their
availability, bookings and their events, challenges, feedback and session reports, lift offers, assignment runs and
proposals, overflow moves, coordinators' actions, the outbox rows, hosts' email choices, webhook endpoints, Twilio
callback receipts), plus the few helpers that go through a service because the rows it writes
with them are the point (`book`, `booking_ask`: a booking request with its challenge and text). tests/README.md
has the rule."""

from datetime import timedelta
from itertools import count

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch.models import AssignmentRun, CoordinatorAction, OverflowMove, ProposedAssignment
from notify.email.models import EmailMessage, HostEmailPreference
from notify.sms.models import SmsMessage, WebhookReceipt
from notify.webhooks.models import WebhookEndpoint
from seats.models import DEFAULT_BOUNDARY_SET, OrganiserScope, Postcode, PostcodeDistrict, Seat, SeatAdjacency
from sessions.models import CanvassSession, HostStanding, MeetingPoint, Slot
from travel.models import LiftOffer
from volunteers.models import (
    AvailabilityWindow,
    Booking,
    BookingEvent,
    Feedback,
    PhoneChallenge,
    SessionReport,
    Volunteer,
)

_phones = count(100000)


def get_or_create(model, defaults=None, **lookup):
    """`get_or_create` without its savepoint: a factory writes its rows from one thread, so two statements do what
    Django's four do (SELECT, SAVEPOINT, INSERT, RELEASE). Seats, postcodes, districts and users are written this
    way, about ten statements a test fewer in `make test-fast`."""
    try:
        return model._default_manager.get(**lookup)
    except model.DoesNotExist:
        return model._default_manager.create(**lookup, **(defaults or {}))


class ModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _get_or_create(cls, model_class, *args, **kwargs):
        lookup = {field: kwargs.pop(field) for field in cls._meta.django_get_or_create}
        return get_or_create(model_class, defaults=kwargs, **lookup)


def next_mobile() -> str:
    """A distinct, valid UK mobile number in E.164."""
    return f"+447400{next(_phones):06d}"


class SeatFactory(ModelFactory):
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


# PostcodeFactory makes each postcode's district; tests/seats/ (the importers and the geocoder themselves) turn
# this off: they make their own districts.
POSTCODE_DISTRICTS = True


class PostcodeFactory(ModelFactory):
    class Meta:
        model = Postcode
        django_get_or_create = ("boundary_set", "postcode")

    boundary_set = DEFAULT_BOUNDARY_SET
    postcode = "S10 1AA"
    lat = 53.38
    lng = -1.50
    seat = factory.SubFactory(SeatFactory)

    @factory.post_generation
    def its_district(obj, create, extracted, **kwargs):
        """Its district too, at its point unless one exists, as the importer derives districts from postcodes:
        searches are computed from the district's centre (web.page_cache keys them by district)."""
        if create and POSTCODE_DISTRICTS:
            get_or_create(
                PostcodeDistrict, boundary_set=obj.boundary_set, outcode=obj.postcode.split(" ")[0],
                defaults={"lat": obj.lat, "lng": obj.lng, "seat": obj.seat})


class SeatAdjacencyFactory(ModelFactory):
    """One direction of a neighbour pair (`adjacent_seats` writes both)."""

    class Meta:
        model = SeatAdjacency
        django_get_or_create = ("from_seat", "to_seat")

    from_seat = factory.SubFactory(SeatFactory)
    to_seat = factory.SubFactory(SeatFactory)


class PostcodeDistrictFactory(ModelFactory):
    class Meta:
        model = PostcodeDistrict
        django_get_or_create = ("boundary_set", "outcode")

    boundary_set = DEFAULT_BOUNDARY_SET
    outcode = "S10"
    lat = 53.38
    lng = -1.50
    seat = factory.SubFactory(SeatFactory)


class UserFactory(ModelFactory):
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
            get_or_create(HostStanding, host=obj, defaults={"email_verified": obj.email, "trusted": True})


class OrganiserScopeFactory(ModelFactory):
    """A regional organiser's scope: `regions=[...]`, and seats with `seats=[...]`."""

    class Meta:
        model = OrganiserScope
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=True, standing=False)
    regions = factory.LazyFunction(list)

    @factory.post_generation
    def seats(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.seats.set(extracted)


class MeetingPointFactory(ModelFactory):
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


class CanvassSessionFactory(ModelFactory):
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


class SlotFactory(ModelFactory):
    class Meta:
        model = Slot

    session = factory.SubFactory(CanvassSessionFactory)
    starts_at = factory.SelfAttribute("session.starts_at")
    ends_at = factory.SelfAttribute("session.ends_at")
    capacity = 10
    turf = "Odd numbers on Test Street"


class VolunteerFactory(ModelFactory):
    """A row only: no consent to texts unless given (`consent_sms=True`), no proven phone, no booking."""

    class Meta:
        model = Volunteer

    phone = factory.LazyFunction(next_mobile)
    name = "Ann Volunteer"
    postcode = "S10 1AA"
    lat = 53.38
    lng = -1.50


class AvailabilityWindowFactory(ModelFactory):
    class Meta:
        model = AvailabilityWindow

    volunteer = factory.SubFactory(VolunteerFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda w: w.starts_at + timedelta(hours=4))


class BookingFactory(ModelFactory):
    """A row only, written past the services: no booking event, no outbox row, no place taken on the slot. A test
    about what a booking change does books through a service (`book`, or tests/sms/factories.booking_make)."""

    class Meta:
        model = Booking

    volunteer = factory.SubFactory(VolunteerFactory)
    slot = factory.SubFactory(SlotFactory)
    status = Booking.Status.CONFIRMED


class AssignmentRunFactory(ModelFactory):
    """A row only (queued, nothing solved): a test about solving or committing starts one through dispatch's
    services."""

    class Meta:
        model = AssignmentRun

    params = factory.LazyFunction(dict)


class HostStandingFactory(ModelFactory):
    """A host's standing, set to the fields given and nothing else: UserFactory has already given most hosts one
    (trusted, their address proven), so this updates the host's row where there is one, as the services do:
    `HostStandingFactory(host=host, email_verified=host.email)` is the link emailed at sign-up followed."""

    class Meta:
        model = HostStanding

    host = factory.SubFactory(UserFactory, standing=False)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.update_or_create(host=kwargs.pop("host"), defaults=kwargs)[0]


class HostEmailPreferenceFactory(ModelFactory):
    class Meta:
        model = HostEmailPreference

    host = factory.SubFactory(UserFactory)
    notify = HostEmailPreference.Notify.DAILY


class BookingEventFactory(ModelFactory):
    """A row only: no outbox row follows (the wiring reacts to the services, not to this)."""

    class Meta:
        model = BookingEvent

    booking = factory.SubFactory(BookingFactory)
    kind = "booking_confirmed"
    version = factory.SelfAttribute("booking.version")
    payload = factory.LazyFunction(dict)


class PhoneChallengeFactory(ModelFactory):
    """A row only, its code unknown (`code_hash` is no hash of any code): a test of proving asks through
    `book` or `booking_ask`."""

    class Meta:
        model = PhoneChallenge

    booking = factory.SubFactory(BookingFactory)
    volunteer = factory.SelfAttribute("booking.volunteer")
    phone = factory.SelfAttribute("volunteer.phone")
    purpose = PhoneChallenge.Purpose.choices[0][0]
    code_hash = "x"
    max_attempts = 5
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))


class FeedbackFactory(ModelFactory):
    class Meta:
        model = Feedback

    booking = factory.SubFactory(BookingFactory)
    went = True


class SessionReportFactory(ModelFactory):
    class Meta:
        model = SessionReport

    session = factory.SubFactory(CanvassSessionFactory)
    doors = 40
    conversations = 12


class LiftOfferFactory(ModelFactory):
    """A driver's offer from the station, half an hour before the slot."""

    class Meta:
        model = LiftOffer

    booking = factory.SubFactory(BookingFactory)
    slot = factory.SelfAttribute("booking.slot")
    seats = 2
    pickup_kind = LiftOffer.PickupKind.STATION
    pickup_label = "The station"
    pickup_postcode = "S1"
    pickup_district = "S1"
    pickup_lat = 53.38
    pickup_lng = -1.47
    departs_at = factory.LazyAttribute(lambda o: o.slot.starts_at - timedelta(minutes=30))


class ProposedAssignmentFactory(ModelFactory):
    class Meta:
        model = ProposedAssignment

    run = factory.SubFactory(AssignmentRunFactory)
    volunteer = factory.SubFactory(VolunteerFactory)
    slot = factory.SubFactory(SlotFactory)


class CoordinatorActionFactory(ModelFactory):
    """An audit row only: a test of what an action does goes through its service, which writes this."""

    class Meta:
        model = CoordinatorAction

    actor = factory.SubFactory(UserFactory, is_staff=True, email="", standing=False)
    kind = CoordinatorAction.Kind.SEAT_PRIORITY_SET
    params = factory.LazyFunction(dict)


class OverflowMoveFactory(ModelFactory):
    """A row only: the volunteer's two bookings are the test's (dispatch's overflow writes them together)."""

    class Meta:
        model = OverflowMove

    from_booking = factory.SubFactory(BookingFactory)
    to_booking = factory.SubFactory(BookingFactory, volunteer=factory.SelfAttribute("..from_booking.volunteer"))
    volunteer = factory.SelfAttribute("from_booking.volunteer")
    from_seat = factory.SelfAttribute("from_booking.slot.session.seat")
    to_seat = factory.SelfAttribute("to_booking.slot.session.seat")
    ring = 1
    distance_km = 3.2
    trigger = OverflowMove.Trigger.WAITLIST


class SmsMessageFactory(ModelFactory):
    """An outbox row waiting to be sent, written past the services (no booking event behind it): a test about
    what a booking change texts books through a service."""

    class Meta:
        model = SmsMessage

    booking = factory.SubFactory(BookingFactory)
    volunteer = factory.SelfAttribute("booking.volunteer")
    kind = SmsMessage.Kind.CONFIRMED
    version = 1
    to = factory.SelfAttribute("volunteer.phone")
    body = "Your place is booked."
    encoding = "GSM-7"
    segments = 1


class EmailMessageFactory(ModelFactory):
    """An email outbox row waiting to be sent, as SmsMessageFactory (its text is rendered when it is sent)."""

    class Meta:
        model = EmailMessage

    booking = factory.SubFactory(BookingFactory)
    volunteer = factory.SelfAttribute("booking.volunteer")
    kind = EmailMessage.Kind.CONFIRMED
    version = 1


class WebhookEndpointFactory(ModelFactory):
    """A campaign system's endpoint, as a coordinator registers one (every event type, personal data sent)."""

    class Meta:
        model = WebhookEndpoint

    url = "https://crm.example.org/hooks"
    secret = "whsec_" + "A" * 32


class WebhookReceiptFactory(ModelFactory):
    """A Twilio callback handled (a status callback unless `kind` says otherwise)."""

    class Meta:
        model = WebhookReceipt

    kind = WebhookReceipt.Kind.STATUS
    message_sid = factory.Sequence(lambda n: f"SM{n:032d}")
    received_at = factory.LazyFunction(timezone.now)


def token_for(user) -> str:
    return get_or_create(Token, user=user).key


def api_client_for(user) -> APIClient:
    """An API client that sends `user`'s token with every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def seat_with_neighbour() -> tuple[Seat, Seat]:
    first, second = SeatFactory(), SeatFactory(lat=53.40, lng=-1.45, priority=3, computed_priority=3)
    adjacent_seats(first, second)
    return first, second


def adjacent_seats(first: Seat, second: Seat) -> None:
    """Neighbours both ways, as the import writes them."""
    SeatAdjacencyFactory(from_seat=first, to_seat=second)
    SeatAdjacencyFactory(from_seat=second, to_seat=first)


def district(outcode: str, seat: Seat, lat: float = 53.38, lng: float = -1.50) -> PostcodeDistrict:
    """The district at this centre, whether or not a PostcodeFactory made it already (at its first postcode)."""
    made = PostcodeDistrictFactory(outcode=outcode, lat=lat, lng=lng, seat=seat)
    PostcodeDistrict.objects.filter(pk=made.pk).update(lat=lat, lng=lng, seat=seat)
    made.refresh_from_db()
    return made


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
