"""The API's "my bookings", remembered devices and several slots at once (the pages' /my/ and session form).

A client proves a phone with a texted code (POST /api/my/code/, then the usual POST /api/challenges/{token}/verify/)
and gets a device token with the list; the token, sent as the X-Device-Token header, opens the list again and books
for that phone without a code, until it expires or POST /api/my/forget/ revokes it (volunteers.devices).
"""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotAuthenticated
from core.ratelimit import client_ip, ip_throttle
from volunteers import devices, identity
from volunteers.booking_sets import bookings_ask
from volunteers.models import PhoneChallenge, Volunteer
from volunteers.selectors import phone_bookings
from volunteers.serializers import (
    BookingsCreateSerializer,
    BookingSerializer,
    ChallengeSerializer,
    PhoneBookingsSerializer,
    PhoneSerializer,
)

DEVICE_HEADER = OpenApiParameter(
    "X-Device-Token", str, OpenApiParameter.HEADER, required=False,
    description="A device token from a right code's answer: proves that phone from this client (no code needed).")


def _device_token(request) -> str | None:
    return request.headers.get("X-Device-Token") or None


def phone_bookings_data(volunteer: Volunteer | None, *, phone: str, device_token: str | None = None) -> dict:
    listed = phone_bookings(volunteer_id=volunteer.pk) if volunteer is not None else None
    return {"phone": identity.phone_mask(phone), "device_token": device_token,
            "upcoming": BookingSerializer(listed.upcoming if listed else [], many=True).data,
            "past": BookingSerializer(listed.past if listed else [], many=True).data}


def proven_data(proven: identity.PhoneProven, request) -> dict:
    """The answer to a right "my bookings" code or a code for several slots: the phone's list, and a device token
    for the client that typed it."""
    token = None
    if proven.volunteer is not None:
        token = devices.device_remember(volunteer_id=proven.volunteer.pk,
                                        user_agent=request.headers.get("User-Agent", ""))
    return phone_bookings_data(proven.volunteer, phone=proven.phone, device_token=token)


class MyCodeView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        request=PhoneSerializer, responses={202: ChallengeSerializer},
        summary="Text a phone a code that opens its list of bookings",
        description="The answer is the same for every number, known or not (the code is texted only to a number "
        "that has booked). Send the code to POST /api/challenges/{token}/verify/: the answer is the phone's "
        "bookings and a device token. A number that replied STOP is 409 texts_stopped (it would never get the "
        "code). Limited per address (code_send_ip) and per phone (code_send_phone, sms_phone_day).")
    def post(self, request):
        serializer = PhoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        challenge = identity.my_bookings_request(phone=serializer.validated_data["phone"], client_ip=client_ip(request))
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_202_ACCEPTED)


class MyBookingsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    schema_error_statuses = {"GET": ["401"]}

    @extend_schema(parameters=[DEVICE_HEADER], responses=PhoneBookingsSerializer,
                   summary="Every booking of the phone a device token proves",
                   description="401 device_unknown for a missing, revoked or expired token. device_token is null "
                   "here: the client has it already. Addresses show as on each booking's own answer (metered).")
    def get(self, request):
        volunteer = devices.device_volunteer(token=_device_token(request))
        if volunteer is None:
            raise NotAuthenticated(gettext("This device is not remembered: ask for a code."), code="device_unknown")
        return Response(phone_bookings_data(volunteer, phone=volunteer.phone))


class MyForgetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(parameters=[DEVICE_HEADER], request=None, responses={204: None},
                   summary="Forget this device (revoke its token)",
                   description="The token stops working at once, wherever it was copied. Idempotent.")
    def post(self, request):
        devices.device_forget(token=_device_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookingsCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("booking_ip")]
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        parameters=[DEVICE_HEADER], request=BookingsCreateSerializer,
        responses={202: ChallengeSerializer, 201: PhoneBookingsSerializer},
        summary="Ask for places on several slots at once (one code)",
        description="All or nothing: every slot is held (unproven) and one code texted proves them all, or nothing "
        "is held and the error names the slot (409 slot_full, 400 slots_overlap, 409 slot_in_past...). Each slot "
        "counts against the phone's booking limit. With an X-Device-Token proving this very phone: no code, the "
        "places are proven at once (201, the phone's bookings); a token for another phone is ignored (a code is "
        "texted). One slot takes POST /api/slots/{id}/bookings/'s path (a full slot waitlists).")
    def post(self, request):
        serializer = BookingsCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asked = bookings_ask(client_ip=client_ip(request), device_token=_device_token(request), consent_how="api",
                             **serializer.validated_data)
        if isinstance(asked, PhoneChallenge):
            return Response(ChallengeSerializer(asked).data, status=status.HTTP_202_ACCEPTED)
        volunteer = asked[0].volunteer
        return Response(phone_bookings_data(volunteer, phone=volunteer.phone), status=status.HTTP_201_CREATED)
