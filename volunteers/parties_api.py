"""The API's party endpoint: a booker making their party smaller through the private link."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import StrictSerializer
from volunteers import services
from volunteers.api import booking_by_token
from volunteers.models import PARTY_SIZE_LIMIT
from volunteers.serializers import BookingSerializer


class BookingPartySerializer(StrictSerializer):
    party_size = serializers.IntegerField(
        min_value=1, max_value=PARTY_SIZE_LIMIT,
        help_text="The new number of places, the booker included: smaller than now (or the same: no change).")


class BookingPartyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=BookingPartySerializer, responses=BookingSerializer,
        summary="Make the party smaller, through the private link",
        description="The places no longer needed go back to the slot, and its waitlist is offered them. A party "
        "never grows here: to bring more people, book again (400 party_cannot_grow). Repeating the same size "
        "changes nothing. 409 not_active for a cancelled or finished booking; 404 for an unknown link.",
    )
    def post(self, request, token: str):
        serializer = BookingPartySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.booking_party_shrink(manage_token=token, party_size=serializer.validated_data["party_size"])
        return Response(BookingSerializer(booking_by_token(token)).data)
