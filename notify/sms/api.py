from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView

from core.permissions import IsCoordinator
from notify.sms.models import SmsMessage
from notify.sms.serializers import SmsMessageFilterSerializer, SmsMessageSerializer
from volunteers.privacy import Access, personal_data_accessed_record


@extend_schema(
    summary="SMS messages (coordinators)",
    description="The SMS outbox and delivery records, newest first. `?status=failed&status=undelivered` lists "
    "permanent failures; `skipped` rows say why nothing was sent (opted out, invalid number, no consent).",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=SmsMessage.Status.values),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=SmsMessage.Kind.values),
        OpenApiParameter("volunteer", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}),
        OpenApiParameter("booking", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}),
    ],
)
class SmsMessageListView(ListAPIView):
    permission_classes = [IsCoordinator]
    serializer_class = SmsMessageSerializer

    def get_queryset(self):
        params = self.request.query_params
        data = {key: params.get(key) for key in ("kind", "volunteer", "booking") if key in params}
        if params.getlist("status"):
            data["status"] = [value for raw in params.getlist("status") for value in raw.split(",") if value]
        query = SmsMessageFilterSerializer(data=data)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        queryset = SmsMessage.objects.select_related("volunteer")
        if "status" in filters:
            queryset = queryset.filter(status__in=filters.pop("status"))
        return queryset.filter(**filters)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        # Texts carry names and addresses: a coordinator reading them is in the audit log.
        personal_data_accessed_record(actor=request.user, action=Access.VIEWED,
                                      volunteer_ids={row["volunteer"] for row in rows} - {None},
                                      where="api sms messages", query=request.query_params.urlencode())
        return response
