from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.ratelimit import ip_throttle
from volunteers import selectors, services
from volunteers.models import Booking
from volunteers.serializers import (
    AttendanceSerializer,
    BookingCreateSerializer,
    BookingSerializer,
    RosterBookingSerializer,
)

BOOKING_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat", "redirected_to")


def booking_by_token(token: str) -> Booking:
    booking = Booking.objects.select_related(*BOOKING_RELATED).filter(manage_token=token).first()
    if booking is None:
        raise NotFound("No booking with this link.")
    return booking


class SlotBookingView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("booking_ip")]

    @extend_schema(
        request=BookingCreateSerializer, responses={201: BookingSerializer, 200: BookingSerializer},
        summary="Book a slot (no account needed)",
        description="Confirmed if the slot has room, otherwise waitlisted. Booking the same slot again with the "
        "same phone returns the existing booking with 200.",
    )
    def post(self, request, slot_id: int):
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.booking_create(slot_id=slot_id, **serializer.validated_data)
        # The service returns the booking with its volunteer, slot, session, meeting point and seat loaded.
        return Response(BookingSerializer(result.booking).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class BookingDetailView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=BookingSerializer, summary="See a booking through its private link")
    def get(self, request, token: str):
        return Response(BookingSerializer(booking_by_token(token)).data)


class BookingCancelView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=BookingSerializer, summary="Cancel a booking through its private link")
    def post(self, request, token: str):
        services.booking_cancel(manage_token=token)
        return Response(BookingSerializer(booking_by_token(token)).data)


class RosterPagination(LimitOffsetPagination):
    default_limit = 500  # a front room's whole roster in one page
    max_limit = 1000


@extend_schema(
    summary="Host: who is booked on your session",
    description="Slot by slot: those coming first, then the waitlist in its order, then cancelled and redirected "
    "bookings. Only the session's host and coordinators see it.",
    parameters=[OpenApiParameter("status", str, many=True, enum=Booking.Status.values,
                                 description="Only these statuses (repeat the parameter for several).")],
)
class SessionRosterView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = RosterBookingSerializer
    pagination_class = RosterPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Booking.objects.none()
        statuses = self.request.query_params.getlist("status")
        unknown = sorted(set(statuses) - set(Booking.Status.values))
        if unknown:
            raise InvalidInput(f"Unknown status: {', '.join(unknown)}.", fields={"status": [
                f"One of {', '.join(Booking.Status.values)}."]})
        return selectors.session_roster(user=self.request.user, session_id=self.kwargs["session_id"],
                                        statuses=statuses)


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
