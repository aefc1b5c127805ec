from rest_framework import serializers

from dispatch.sms.models import SmsMessage
from volunteers.privacy import mask_phone


class SmsMessageSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
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


class SmsMessageFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=SmsMessage.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=SmsMessage.Kind.choices, required=False)
    volunteer = serializers.IntegerField(min_value=1, required=False)
    booking = serializers.IntegerField(min_value=1, required=False)
