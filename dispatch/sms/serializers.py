import re

from rest_framework import serializers

from dispatch.sms.models import SmsMessage
from volunteers.privacy import mask_phone

_SECRETS = [(re.compile(r"\b\d{6}\b"), "******"), (re.compile(r"/b/[A-Za-z0-9_-]+"), "/b/<private link>")]


def body_redacted(message: SmsMessage) -> str:
    """What staff may read of a text: a code text's code and private link are masked (they prove the phone)."""
    body = message.body
    if message.kind == SmsMessage.Kind.PHONE_CODE:
        for pattern, mask in _SECRETS:
            body = pattern.sub(mask, body)
    return body


class SmsMessageSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
    body = serializers.SerializerMethodField(help_text="The text; a code text's code and private link are masked.")
    to = serializers.SerializerMethodField(help_text="Masked (+44 7••• •••321): the full number is on the "
                                                     "message's admin page, where opening it is audited.")

    def get_to(self, message) -> str:
        return mask_phone(message.to)

    class Meta:
        model = SmsMessage
        fields = [
            "id", "volunteer", "volunteer_name", "booking", "kind", "version", "to", "body", "encoding", "segments",
            "status", "skip_reason", "twilio_sid", "error_code", "error_message", "attempts", "next_attempt_at",
            "accepted_at", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_body(self, message) -> str:
        return body_redacted(message)


class SmsMessageFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=SmsMessage.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=SmsMessage.Kind.choices, required=False)
    volunteer = serializers.IntegerField(min_value=1, required=False)
    booking = serializers.IntegerField(min_value=1, required=False)
