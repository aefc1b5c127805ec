import re

from rest_framework import serializers

from core.serializers import QuerySerializer
from notify.sms.models import SmsMessage
from volunteers.privacy import mask_phone

_CODE = re.compile(r"\b\d{6}\b")
_LINK = re.compile(r"/([bn])/[A-Za-z0-9_-]+")  # a booking's link, a sign-up's


def body_redacted(message: SmsMessage) -> str:
    """What staff may read of a text: the private link every text about a booking carries, and a code text's code,
    are masked (either proves the phone and opens the booking)."""
    body = _LINK.sub(r"/\1/<private link>", message.body)
    if message.kind in (SmsMessage.Kind.PHONE_CODE, SmsMessage.Kind.HOST_CODE):
        body = _CODE.sub("******", body)
    return body


class SmsMessageSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True, allow_null=True,
                                           help_text="Null for a text to a host.")
    host = serializers.IntegerField(source="host_id", read_only=True, allow_null=True,
                                    help_text="The host texted (host_booked, host_cancelled, host_code); null for a volunteer's.")
    body = serializers.SerializerMethodField(help_text="The text; private links and a code text's code are masked.")
    to = serializers.SerializerMethodField(help_text="Masked (+44 7••• •••321): the full number is on the "
                                                     "message's admin page, where opening it is audited.")

    def get_to(self, message) -> str:
        return mask_phone(message.to)

    class Meta:
        model = SmsMessage
        fields = [
            "id", "volunteer", "volunteer_name", "host", "booking", "kind", "version", "to", "body", "encoding", "segments",
            "status", "skip_reason", "twilio_sid", "error_code", "error_message", "attempts", "next_attempt_at",
            "accepted_at", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_body(self, message) -> str:
        return body_redacted(message)


class SmsMessageFilterSerializer(QuerySerializer):
    status = serializers.MultipleChoiceField(choices=SmsMessage.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=SmsMessage.Kind.choices, required=False)
    volunteer = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    booking = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
