from django.db.models import Q
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.errors import InvalidInput
from core.permissions import IsCoordinator
from seats import services
from seats.geocoding import postcode_locate
from seats.models import Seat
from seats.selectors import seats_near
from seats.serializers import SeatDetailSerializer, SeatPrioritySerializer, SeatSerializer


class SeatViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Westminster seats with their last result and priority (1 = most important)."""

    queryset = Seat.objects.all()
    lookup_field = "ons_code"
    lookup_value_regex = "[A-Za-z][0-9]{8}"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SeatDetailSerializer
        if self.action == "priority":
            return SeatPrioritySerializer
        return SeatSerializer

    def get_queryset(self):
        query = Seat.objects.all()
        if self.action == "retrieve":
            return query.prefetch_related("neighbours")
        params = self.request.query_params
        if params.get("q"):
            query = query.filter(Q(name__icontains=params["q"]) | Q(ons_code__iexact=params["q"]))
        if params.get("region"):
            query = query.filter(region__iexact=params["region"])
        if params.get("max_priority"):
            try:
                query = query.filter(priority__lte=int(params["max_priority"]))
            except ValueError:
                raise InvalidInput(gettext("max_priority must be a number 1–5."), fields={"max_priority": [gettext("Must be 1–5.")]}) from None
        return query.order_by("priority", "majority_pct", "name") if params.get("max_priority") else query

    @extend_schema(parameters=[
        OpenApiParameter("near", OpenApiTypes.STR, description="A UK postcode: seats nearest first."),
        OpenApiParameter("q", OpenApiTypes.STR, description="Name contains, or an exact ONS code."),
        OpenApiParameter("region", OpenApiTypes.STR),
        OpenApiParameter("max_priority", OpenApiTypes.INT, description="Only seats with priority ≤ this."),
    ])
    def list(self, request, *args, **kwargs):
        near = request.query_params.get("near")
        if not near:
            return super().list(request, *args, **kwargs)
        location = postcode_locate(near, field="near")
        page_size = self.paginator.get_page_size(request) or 20
        ranked = seats_near(lat=location.lat, lng=location.lng, limit=page_size)
        for seat, distance in ranked:
            seat.distance_km = distance
        data = SeatSerializer([seat for seat, _ in ranked], many=True).data
        return Response({"count": len(data), "next": None, "previous": None, "results": data})

    @extend_schema(request=SeatPrioritySerializer, responses=SeatDetailSerializer,
                   summary="Coordinator: override a seat's priority or mark it a target")
    @action(detail=True, methods=["patch"], permission_classes=[IsCoordinator])
    def priority(self, request, ons_code=None):
        serializer = SeatPrioritySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seat = services.seat_priority_set(ons_code=ons_code.upper(), **serializer.validated_data)
        return Response(SeatDetailSerializer(Seat.objects.prefetch_related("neighbours").get(pk=seat.pk)).data)
