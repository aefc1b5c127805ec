from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from volunteers import services
from volunteers.models import Booking
from volunteers.serializers import BookingCreateSerializer, BookingSerializer

BOOKING_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat", "redirected_to")


def booking_by_token(token: str) -> Booking:
    booking = Booking.objects.select_related(*BOOKING_RELATED).filter(manage_token=token).first()
    if booking is None:
        raise NotFound("No booking with this link.")
    return booking


class SlotBookingView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

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
