from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.permissions import IsCoordinator
from seats import services
from seats.geocoding import postcode_locate
from seats.models import Seat
from seats.scopes import seat_scope_for
from seats.selectors import seats_near
from seats.serializers import SeatDetailSerializer, SeatListQuerySerializer, SeatPrioritySerializer, SeatSerializer


class SeatViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Westminster seats of the current boundary set with their last result and priority (1 = most important).

    Each seat's notional result (the previous election recomputed on its boundaries) is shown beside it."""

    queryset = Seat.objects.all()
    seat_scoped = True  # the one coordinator action (priority) checks the caller's scope
    lookup_field = "ons_code"
    lookup_value_regex = "[A-Za-z][0-9]{8}"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SeatDetailSerializer
        if self.action == "priority":
            return SeatPrioritySerializer
        return SeatSerializer

    def get_queryset(self):
        # One seat by its code, whatever its set (an old seat keeps its history); lists and searches: the current set.
        if self.action != "list":
            return Seat.objects.all()
        query = Seat.objects.current()
        params = SeatListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        if filters.get("q"):
            query = query.filter(Q(name__icontains=filters["q"]) | Q(ons_code__iexact=filters["q"]))
        if filters.get("region"):
            query = query.filter(region__iexact=filters["region"])
        if "max_priority" in filters:
            query = query.filter(priority__lte=filters["max_priority"])
        return query.order_by("priority", "majority_pct", "name", "ons_code")

    @extend_schema(parameters=[SeatListQuerySerializer])
    def list(self, request, *args, **kwargs):
        near = request.query_params.get("near")
        if not near:
            return super().list(request, *args, **kwargs)
        among = self.get_queryset()  # the filters hold with near too
        location = postcode_locate(near, field="near")
        page_size = self.paginator.get_page_size(request) or 20
        ranked = seats_near(lat=location.lat, lng=location.lng, limit=page_size, among=among)
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
        seat_scope_for(request.user).check_seat(ons_code)
        seat = services.seat_priority_set(ons_code=ons_code.upper(), **serializer.validated_data)
        return Response(SeatDetailSerializer(Seat.objects.get(pk=seat.pk)).data)
