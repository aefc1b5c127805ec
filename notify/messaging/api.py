"""POST /api/sessions/<id>/messages/: a host's message to their session's proven volunteers (docs/messaging.md)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import StrictSerializer
from notify.consent import CAMPAIGN, SERVICE
from notify.messaging.audience import audience_for_host
from notify.messaging.services import message_preview, message_send


class SessionMessageSerializer(StrictSerializer):
    body = serializers.CharField(
        trim_whitespace=True, max_length=settings.MESSAGE_BODY_MAX,
        help_text="The words, at most MESSAGE_BODY_MAX characters. Each text starts with who it is from.")
    purpose = serializers.ChoiceField(
        choices=[SERVICE, CAMPAIGN], default=SERVICE,
        help_text="`service` (about the session: reaches everyone who agreed to texts or emails about their "
        "booking) or `campaign` (a call to action: only those who gave campaign consent; the sender's "
        "identification and a link to stop such messages are added).")
    preview = serializers.BooleanField(default=False, help_text="True: say what sending would do, send nothing.")


class SessionMessageResultSerializer(serializers.Serializer):
    message = serializers.IntegerField(allow_null=True, help_text="The message's id (null for a preview).")
    sent = serializers.BooleanField()
    purpose = serializers.CharField()
    recipients = serializers.IntegerField(help_text="Proven volunteers holding a place on the session.")
    reached = serializers.IntegerField(help_text="Of those, how many it reaches by text, email or both.")
    texts = serializers.IntegerField()
    emails = serializers.IntegerField()
    unreached = serializers.IntegerField(help_text="Not reachable with this kind of message (no consent, stopped).")
    segments = serializers.IntegerField(help_text="SMS segments of all the texts together.")
    cost_pence = serializers.FloatField(help_text="Estimated: segments x SMS_SEGMENT_COST_PENCE.")


class SessionMessageView(APIView):
    permission_classes = [IsAuthenticated]
    schema_error_statuses = {"POST": ["429"]}  # the sender's daily cap

    @extend_schema(request=SessionMessageSerializer, responses={201: SessionMessageResultSerializer,
                                                                200: SessionMessageResultSerializer},
                   summary="Host: message the session's proven volunteers",
                   description="By text and email as each volunteer agreed, through the outbox: held in quiet "
                   "hours, sent at the SMS send rate. Only the session's host (or a coordinator in scope); 404 "
                   "otherwise. At most MESSAGES_PER_SENDER_DAY messages a day per sender (429). With "
                   "`preview: true`, nothing is sent (200). Nobody's number or address is in the answer.")
    def post(self, request, session_id: int):
        serializer = SessionMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        audience = audience_for_host(user=request.user, session_id=session_id)
        if data["preview"]:
            preview = message_preview(audience=audience, purpose=data["purpose"], body=data["body"])
            return Response({"message": None, "sent": False, **_counts(preview.as_dict())})
        broadcast = message_send(sender=request.user, audience=audience, purpose=data["purpose"], body=data["body"])
        return Response({"message": broadcast.pk, "sent": True, **_counts({
            "purpose": broadcast.purpose, "recipients": broadcast.recipients, "reached": broadcast.reached,
            "texts": broadcast.texts, "emails": broadcast.emails,
            "unreached": broadcast.recipients - broadcast.reached,
            "segments": broadcast.segments, "cost_pence": broadcast.segments * settings.SMS_SEGMENT_COST_PENCE})},
            status=status.HTTP_201_CREATED)


def _counts(values: dict) -> dict:
    keys = ("purpose", "recipients", "reached", "texts", "emails", "unreached", "segments", "cost_pence")
    return {key: values[key] for key in keys}
