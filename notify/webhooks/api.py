"""/api/webhooks/: coordinators register endpoints and read the delivery log."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.errors import InvalidState
from core.permissions import IsCoordinator
from notify.webhooks import services
from notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from notify.webhooks.serializers import (
    SecretRotateSerializer,
    WebhookDeliveryFilterSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
)

ID_PATTERN = "[0-9]+"  # anything else is an unknown URL (404), never a lookup that fails


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook endpoints (coordinators only). The secret is in the answer to a creation or rotation, and never
    again; deliveries are signed with it (Standard Webhooks, docs/webhooks.md)."""

    permission_classes = [IsCoordinator]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.order_by("id")
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(summary="Register a webhook endpoint", request=WebhookEndpointCreateSerializer,
                   responses={201: WebhookEndpointWithSecretSerializer})
    def create(self, request):
        data = WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(user=request.user, **data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a webhook endpoint", request=WebhookEndpointUpdateSerializer,
                   responses={200: WebhookEndpointSerializer})
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint_id=endpoint.pk, **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(summary="Remove a webhook endpoint and its delivery log", responses={204: None})
    def destroy(self, request, pk=None):
        services.endpoint_delete(endpoint_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Give the endpoint a new secret (shown once)", request=SecretRotateSerializer,
                   responses={200: WebhookEndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        data = SecretRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_secret_rotate(endpoint_id=endpoint.pk, **data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)


@extend_schema(tags=["webhooks"])
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log, newest first: attempts, the last answer or error, the next attempt. Bodies carry personal
    data and are not listed (the admin shows one, audited)."""

    permission_classes = [IsCoordinator]
    serializer_class = WebhookDeliverySerializer
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        queryset = WebhookDelivery.objects.order_by("-id")
        if self.action != "list":
            return queryset
        query = WebhookDeliveryFilterSerializer(data={key: value for key, value in self.request.query_params.items()
                                                      if key in WebhookDeliveryFilterSerializer().fields})
        query.is_valid(raise_exception=True)
        return queryset.filter(**query.validated_data)

    @extend_schema(summary="Webhook deliveries", parameters=[WebhookDeliveryFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="Send a delivered or failed delivery again (same webhook-id and body)", request=None,
                   responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = self.get_object()
        if not services.delivery_redeliver(delivery_id=delivery.pk):
            raise InvalidState(gettext("Only a delivered or failed delivery can be sent again."), code="not_redeliverable")
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


