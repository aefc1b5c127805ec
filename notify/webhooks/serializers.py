from rest_framework import serializers

from core.serializers import QuerySerializer, StrictSerializer
from notify.webhooks.models import EVENT_TYPE_CHOICES, WebhookDelivery, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as listed: never its secret (shown once, when created or rotated)."""

    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "include_personal_data", "enabled", "disabled_reason",
                  "disabled_at", "consecutive_failures", "secret_rotated_at", "previous_secret_until", "created_at",
                  "updated_at"]
        read_only_fields = ["disabled_reason", "disabled_at", "consecutive_failures", "secret_rotated_at",
                            "previous_secret_until", "created_at", "updated_at"]


URL_PATTERN = r"^https?://[!-~]+$"  # printable ASCII, so Python and the schema agree; the rest (https only by default, a public address) is invalid_url


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = serializers.RegexField(URL_PATTERN, max_length=500, help_text="https://, resolving to a public address.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), required=False,
                                        allow_empty=False, min_length=1, help_text="Default: every type.")
    include_personal_data = serializers.BooleanField(required=False, default=True)
    enabled = serializers.BooleanField(required=False, default=True)
    secret = serializers.CharField(max_length=100, required=False, allow_blank=True, write_only=True,
                                   help_text="whsec_<base64 of 24-64 bytes>; generated when left out.")


class WebhookEndpointUpdateSerializer(StrictSerializer):
    url = serializers.RegexField(URL_PATTERN, max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), required=False,
                                        allow_empty=False, min_length=1)
    include_personal_data = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False, help_text="true enables it again and resets its failures.")


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """The answer to a creation or a rotation: the only time the secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="whsec_…: keep it; it is not shown again.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class SecretRotateSerializer(serializers.Serializer):
    secret = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                   help_text="The new secret; generated when left out.")
    previous_valid_hours = serializers.FloatField(
        required=False, default=24, min_value=0, max_value=168,
        help_text="How long the old secret still signs (a second signature); 0 if it leaked.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(read_only=True, help_text="The webhook-id header: the event's, stable.")
    event = serializers.IntegerField(source="event_id", read_only=True, allow_null=True,
                                     help_text="The booking event; null for booking.proven, which has none.")
    booking = serializers.IntegerField(source="booking_id", read_only=True, allow_null=True,
                                       help_text="The booking whose phone was proven (booking.proven only).")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "endpoint", "event", "booking", "event_type", "status", "attempts", "next_attempt_at",
                  "response_status", "response_body", "error", "duration_ms", "delivered_at", "created_at",
                  "updated_at"]
        read_only_fields = fields


class WebhookDeliveryFilterSerializer(QuerySerializer):
    endpoint = serializers.IntegerField(min_value=1, required=False)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    event_type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, required=False)
    event = serializers.IntegerField(min_value=1, required=False)
    booking = serializers.IntegerField(min_value=1, required=False, help_text="booking.proven deliveries of a booking.")
