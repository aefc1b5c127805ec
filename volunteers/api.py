from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.exports import CSVRenderer, JsonErrorsMixin, csv_schema, export_response, wants_csv
from core.pagination import LimitOffsetPagination
from core.ratelimit import client_ip, ip_throttle
from sessions.models import Slot
from volunteers import exports, identity, selectors, services
from volunteers.consent_ledger import challenge_campaign_said
from volunteers.exports import ROSTER
from volunteers.models import Booking, Volunteer
from volunteers.my_api import proven_data
from volunteers.serializers import (
    AttendanceSerializer,
    BookingCreateSerializer,
    BookingDetailsSerializer,
    BookingSerializer,
    BookingSwapSerializer,
    ChallengeSerializer,
    ChallengeVerifySerializer,
    PhoneBookingsSerializer,
    RosterBookingSerializer,
    VolunteerRegisteredSerializer,
    volunteer_registered_data,
)

BOOKING_RELATED = identity.LINK_RELATED


def booking_by_token(token: str) -> Booking:
    """The booking behind a private link (already used by a service that checked it)."""
    booking = Booking.objects.select_related(*BOOKING_RELATED).filter(manage_token=token).first()
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking


class SlotBookingView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("booking_ip")]
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        request=BookingCreateSerializer, responses={202: ChallengeSerializer},
        summary="Ask for a place on a slot (no account needed)",
        description="Holds a place (or a waitlist place) for the phone and texts it a 6-digit code and the "
        "booking's private link. The answer is the same whatever the phone: new, known, already booked on this "
        "slot or at that time. Send the code to POST /api/challenges/{token}/verify/ to see the booking; the "
        "holder of the texted link can prove it with POST /api/bookings/{token}/prove/ too. A place whose phone "
        "is never proven is released after a while.",
    )
    def post(self, request, slot_id: int):
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = serializer.validated_data.pop("consent_campaign", False)
        challenge = identity.booking_request(slot_id=slot_id, client_ip=client_ip(request),
                                             **serializer.validated_data)
        if campaign:  # counts once the phone is proven (volunteers.consent_ledger)
            challenge_campaign_said(challenge=challenge, given=True, how="api")
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_202_ACCEPTED)


class ChallengeVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        request=ChallengeVerifySerializer,
        responses=PolymorphicProxySerializer(component_name="ProvenSubject", resource_type_field_name=None,
                                             serializers=[BookingSerializer, VolunteerRegisteredSerializer,
                                                          PhoneBookingsSerializer]),
        summary="Prove the phone with the texted code",
        description="A booking request's code answers with the booking (its manage_token is the private link); a "
        "sign-up's with the volunteer; a \"my bookings\" code (POST /api/my/code/) or a code for several slots "
        "(POST /api/bookings/) with the phone's bookings and a device token. A code proves once, for a few tries, until expires_at. The same right code "
        "sent again before expires_at (a retry after a lost answer) answers the same again, counting no try and "
        "doing nothing twice; any other code for a used challenge is 400 code_used.",
    )
    def post(self, request, token: str):
        serializer = ChallengeVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proven = identity.challenge_verify(challenge_token=token, code=serializer.validated_data["code"],
                                           client_ip=client_ip(request))
        if isinstance(proven, Volunteer):
            return Response(volunteer_registered_data(proven))
        if isinstance(proven, identity.PhoneProven):
            return Response(proven_data(proven, request))
        return Response(BookingSerializer(proven).data)


class ChallengeResendView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(request=None, responses={202: ChallengeSerializer}, summary="Text a new code",
                   description="The previous code stops working; tries and expiry start again.")
    def post(self, request, token: str):
        challenge = identity.challenge_resend(challenge_token=token, client_ip=client_ip(request))
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_202_ACCEPTED)


class BookingDetailView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=BookingSerializer, summary="See a booking through its private link",
                   description="Reading the link proves nothing (link scanners and previews open texted links, "
                   "some with a browser's User-Agent): an unproven booking shows no address; prove it with POST "
                   "/api/bookings/{token}/prove/ or the texted code. Once proven, the address shows to any "
                   "client.")
    def get(self, request, token: str):
        # Not the texted page's User-Agent list (volunteers.links): texts link to /b/<token>, and programs (curl,
        # python-requests) are how the holders of links read this API. A HEAD has no body to show anything in.
        automatic = request.method == "HEAD"
        booking = identity.booking_by_link(manage_token=token)
        return Response(BookingSerializer(booking, context={"automatic": automatic}).data)


class BookingProveView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=BookingSerializer,
                   summary="Prove the phone through the private link (\"this is my phone\")",
                   description="The deliberate act of the person the link was texted to: the booking and the "
                   "phone are marked proven, and the answer is the booking, with the address once it may show. "
                   "Applies nothing the booking request said (that waits for the texted code). Idempotent; 404 "
                   "for an unknown link.")
    def post(self, request, token: str):
        return Response(BookingSerializer(identity.booking_prove_by_link(manage_token=token)).data)


class BookingCancelView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=BookingSerializer, summary="Cancel a booking through its private link")
    def post(self, request, token: str):
        services.booking_cancel(manage_token=token)
        return Response(BookingSerializer(booking_by_token(token)).data)


class BookingSwapView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("booking_ip")]  # a move is a booking; the service counts per phone
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        request=BookingSwapSerializer, responses=BookingSerializer,
        summary="Move to another slot in one step, through the private link",
        description="Takes a place on the new slot (or, with waitlist, a waitlist place if it is full) and cancels "
        "this booking in one transaction, its place going to the waitlist; or changes nothing. The answer is the new "
        "booking, with its own manage_token (texted too). Repeating a swap that happened answers the same booking. "
        "Only the slots the move page offers are accepted: the other upcoming slots of this session, and upcoming "
        "slots in its seat or a bordering seat starting within a week of it. A move counts as a booking against "
        "the address's and the phone's limits (429). "
        "409 codes: slot_full, already_booked, overlapping_booking, not_swappable, session_cancelled, slot_in_past; "
        "400 same_slot, slot_not_offered; 404 for an unknown link or slot.",
    )
    def post(self, request, token: str):
        serializer = BookingSwapSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new = services.booking_swap(manage_token=token, slot_id=serializer.validated_data["slot"],
                                    waitlist_when_full=serializer.validated_data["waitlist"])
        return Response(BookingSerializer(booking_by_token(new.manage_token)).data)


class BookingDetailsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=BookingDetailsSerializer, responses=BookingSerializer,
                   summary="Change your name, email, postcode or text consent through the private link")
    def post(self, request, token: str):
        serializer = BookingDetailsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = identity.booking_details_update(manage_token=token, **serializer.validated_data)
        return Response(BookingSerializer(booking).data)


class RosterPagination(LimitOffsetPagination):
    default_limit = 500  # a front room's whole roster in one page
    max_limit = 1000

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["places"] = {
            "type": "object", "required": ["proven", "unproven"],
            "description": "The session's places taken (confirmed, attended, no-show), counted apart: by proven "
                           "phones, and held by requests whose phone is not proven yet.",
            "properties": {"proven": {"type": "integer"}, "unproven": {"type": "integer"}}}
        paginated.setdefault("required", [])
        if "places" not in paginated["required"]:
            paginated["required"].append("places")
        return paginated


@extend_schema(
    summary="Host: who is booked on your session",
    description="Slot by slot: those coming first, then the waitlist in its order, then cancelled and redirected "
    "bookings. Only the session's host and coordinators see it. With `Accept: text/csv` or `?format=csv`: the "
    "whole roster as a streamed CSV file (not paginated).",
    parameters=[OpenApiParameter("status", str, many=True, enum=Booking.Status.values,
                                 description="Only these statuses (repeat the parameter for several)."),
                OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the roster as CSV.")],
    responses={(200, "application/json"): RosterBookingSerializer(many=True),
               **csv_schema(ROSTER, description="Full numbers: for the session's host (and audited coordinators).")},
)
class SessionRosterView(JsonErrorsMixin, generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = RosterBookingSerializer
    pagination_class = RosterPagination
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]

    def _statuses(self) -> list[str]:
        statuses = self.request.query_params.getlist("status")
        unknown = sorted(set(statuses) - set(Booking.Status.values))
        if unknown:
            raise InvalidInput(gettext("Unknown status: %(names)s.") % {"names": ', '.join(unknown)}, fields={"status": [
                gettext("One of %(names)s.") % {"names": ', '.join(Booking.Status.values)}]})
        return statuses

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Booking.objects.none()
        return selectors.session_roster(user=self.request.user, session_id=self.kwargs["session_id"],
                                        statuses=self._statuses())

    def list(self, request, *args, **kwargs):
        if not wants_csv(request):
            response = super().list(request, *args, **kwargs)  # the roster checks the session is the user's
            slots = Slot.objects.filter(session_id=self.kwargs["session_id"]).values_list("pk", flat=True)
            places = selectors.places_total(selectors.places_by_slot(slot_ids=slots).values())
            response.data["places"] = {"proven": places.proven, "unproven": places.unproven}
            return response
        # The CSV is the whole roster, not a page; paging parameters are still checked as the schema states them.
        self.paginator.get_limit(request)
        self.paginator.get_offset(request)
        session_id = self.kwargs["session_id"]
        rows = exports.roster_export_rows(user=request.user, session_id=session_id, statuses=self._statuses())
        return export_response(ROSTER, rows, session=session_id)


class BookingAttendanceView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AttendanceSerializer, responses=RosterBookingSerializer,
                   summary="Host: record whether a volunteer came",
                   description="Once the slot has started. Sending the other answer later corrects it.")
    def post(self, request, session_id: int, booking_id: int):
        serializer = AttendanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = services.booking_attendance_record(user=request.user, session_id=session_id, booking_id=booking_id,
                                                     attended=serializer.validated_data["attended"])
        return Response(RosterBookingSerializer(booking).data)


class BookingApproveView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=RosterBookingSerializer, summary="Host: approve a volunteer",
                   description="For sessions that require approval: the volunteer is texted, with the address "
                   "if they have a place. Approving again does nothing.")
    def post(self, request, session_id: int, booking_id: int):
        booking = services.booking_approve(user=request.user, session_id=session_id, booking_id=booking_id)
        return Response(RosterBookingSerializer(booking).data)


class BookingRefuseView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=RosterBookingSerializer, summary="Host: refuse a volunteer",
                   description="Cancels the booking (its place goes to the waitlist) and texts the volunteer. "
                   "Refusing again does nothing.")
    def post(self, request, session_id: int, booking_id: int):
        booking = services.booking_refuse(user=request.user, session_id=session_id, booking_id=booking_id)
        return Response(RosterBookingSerializer(booking).data)
