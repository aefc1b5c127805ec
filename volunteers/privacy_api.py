"""A volunteer's own personal data, through a booking's private link: download it, or erase it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import StrictSerializer
from volunteers import privacy


class DeleteMyDataSerializer(StrictSerializer):
    confirm = serializers.RegexField(r"^ *[Dd][Ee][Ll][Ee][Tt][Ee] *$", max_length=20, help_text=f'Type "{privacy.DELETE_CONFIRMATION}": it cannot be undone.')


class MyDataDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    message = serializers.CharField()


def _private(response: Response) -> Response:
    response["Cache-Control"] = "private, no-store"
    return response


class MyDataView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Download everything stored about you (JSON)",
                   description="Your volunteer record (with your SMS consent, when and to which wording), "
                   "availability, bookings with their history, the texts sent to you and your phone challenges. "
                   "Private links and codes are left out.")
    def get(self, request, token: str):
        response = _private(Response(privacy.volunteer_data_export_for_booking(manage_token=token)))
        response["Content-Disposition"] = 'attachment; filename="frontroom-my-data.json"'
        return response


class DeleteMyDataView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=DeleteMyDataSerializer, responses={200: MyDataDeletedSerializer},
                   summary="Erase your personal data",
                   description="Gives up your upcoming places (the next people on the waitlists get them), then "
                   "removes your name, number, email, postcode and availability, and the texts sent to you. Past "
                   "bookings stay, anonymous, in the counts. Every private link stops working.")
    def post(self, request, token: str):
        body = DeleteMyDataSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        privacy.volunteer_data_delete_for_booking(manage_token=token, confirm=body.validated_data["confirm"])
        return _private(Response({"deleted": True, "message": "Your personal data has been erased."}))
