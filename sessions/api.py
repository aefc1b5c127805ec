from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from core.api import SignupSerializer, TokenSerializer, token_response
from core.errors import InvalidInput, NotAuthenticated
from core.pagination import LimitOffsetPagination
from core.ratelimit import ip_throttle
from core.serializers import StrictSerializer
from seats.geocoding import postcode_locate
from seats.postcodes import district_of
from seats.scopes import seat_scope_for
from sessions import hosts, recurrence, selectors, services, vetting
from sessions.models import CanvassSession, MeetingPoint, Slot
from sessions.serializers import (
    MeetingPointSerializer,
    SessionCreateSerializer,
    SessionHostSerializer,
    SessionPublicSerializer,
    SessionSearchPageSerializer,
    SessionSearchSerializer,
    SessionUpdateSerializer,
    SlotSerializer,
    SlotUpdateSerializer,
    session_search_rows_data,
)


class SignupView(APIView):
    """A new host account: a link to prove the email address is emailed to it (sessions.hosts), and the host's first
    session waits for an organiser's check (sessions.vetting)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("host_signup_ip")]

    @extend_schema(request=SignupSerializer, responses={201: TokenSerializer}, summary="Create a host account")
    def post(self, request):
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = hosts.host_signup(username=data["username"], email=data["email"], password=data["password"],
                                 first_name=data.get("first_name", ""))
        return token_response(user, status.HTTP_201_CREATED)


# Ids in URLs are digits: anything else is an unknown URL (404), never a lookup that fails with a 500.
ID_PATTERN = "[0-9]+"


class MeetingPointViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """A host's front rooms. Hosts see and edit only their own; coordinators see all."""

    serializer_class = MeetingPointSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return MeetingPoint.objects.none()
        query = MeetingPoint.objects.select_related("seat").order_by("id")
        if not self.request.user.is_staff:
            return query.filter(host=self.request.user)
        scope = seat_scope_for(self.request.user)
        return query if scope.national else query.filter(scope.q("seat") | Q(host=self.request.user))

    def perform_create(self, serializer):
        serializer.instance = services.meeting_point_create(host=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.meeting_point_update(
            user=self.request.user, meeting_point=serializer.instance, **serializer.validated_data
        )


class SessionPagination(LimitOffsetPagination):
    default_limit = 20
    max_limit = 100


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Canvass sessions: anyone searches and reads; hosts create, edit and cancel their own."""

    pagination_class = SessionPagination
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = ID_PATTERN
    schema_error_statuses = {"list": ["401"]}  # mine=true without signing in

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_serializer_class(self):
        return {
            "create": SessionCreateSerializer, "partial_update": SessionUpdateSerializer,
        }.get(self.action, SessionPublicSerializer)

    def get_queryset(self):
        return CanvassSession.objects.select_related("seat", "meeting_point").prefetch_related("slots")

    def _is_manager(self, session) -> bool:
        return services.meeting_point_managed_by(user=self.request.user, meeting_point=session.meeting_point)

    @extend_schema(parameters=[SessionSearchSerializer], responses=SessionSearchPageSerializer)
    def list(self, request, *args, **kwargs):
        params = SessionSearchSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        seat_code = query.get("seat", "").strip().upper() or None
        if query["mine"]:
            if not request.user.is_authenticated:
                raise NotAuthenticated(gettext("Sign in to see your own sessions."))
            page = self.paginate_queryset(selectors.sessions_for_host(user=request.user).order_by("starts_at", "id"))
            return self.get_paginated_response(SessionHostSerializer(page, many=True).data)
        if query.get("date_from") and query.get("date_to") and query["date_to"] <= query["date_from"]:
            raise InvalidInput(gettext("date_to must be after date_from."), code="date_order", fields={"date_to": [gettext("Must be after date_from.")]})
        if not query.get("near"):
            upcoming = CanvassSession.objects.filter(
                status=CanvassSession.Status.PUBLISHED, ends_at__gt=timezone.now()
            ).select_related("seat").prefetch_related("slots").order_by("starts_at", "id")
            if seat_code:
                upcoming = upcoming.filter(seat_id=seat_code)
            if query.get("date_from"):
                upcoming = upcoming.filter(ends_at__gt=query["date_from"])
            if query.get("date_to"):
                upcoming = upcoming.filter(starts_at__lt=query["date_to"])
            page = self.paginate_queryset(upcoming)
            return self.get_paginated_response(SessionPublicSerializer(page, many=True).data)

        # From the district's centre (a full postcode is searched as its district): the answer is shared through
        # the page cache by everyone in the district (web.page_cache keys it so) and names only the district.
        location = postcode_locate(district_of(query["near"]) or query["near"], field="near")
        radius = min(query.get("radius_km", settings.DEFAULT_SEARCH_RADIUS_KM), settings.MAX_SEARCH_RADIUS_KM)
        paginator = self.paginator
        limit = paginator.get_limit(request)
        offset = paginator.get_offset(request)
        found = selectors.sessions_near(
            lat=location.lat, lng=location.lng, radius_km=radius, limit=limit + 1, offset=offset,
            date_from=query.get("date_from"), date_to=query.get("date_to"), seat_code=seat_code,
        )
        has_more = len(found) > limit
        results = session_search_rows_data(found[:limit])
        base = replace_query_param(request.build_absolute_uri(), "near", location.postcode)  # the district only
        next_url = replace_query_param(base, "offset", offset + limit) if has_more else None
        previous_url = None
        if offset > 0:
            previous_url = replace_query_param(base, "offset", max(0, offset - limit))
            if offset - limit <= 0:
                previous_url = remove_query_param(previous_url, "offset")
        return Response({
            "count": None if has_more or offset else len(results),
            "next": next_url, "previous": previous_url,
            "near": {"postcode": location.postcode, "precision": location.precision, "radius_km": radius},
            "results": results,
        })

    def retrieve(self, request, *args, **kwargs):
        session = self.get_object()
        if session.status != CanvassSession.Status.PUBLISHED and not self._is_manager(session):
            raise NotFound()
        serializer_class = SessionHostSerializer if self._is_manager(session) else SessionPublicSerializer
        return Response(serializer_class(session).data)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionHostSerializer},
                   summary="Host: publish a session with its slots")
    def create(self, request, *args, **kwargs):
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting_point = self._own_meeting_point(data["meeting_point"])
        session = services.session_create(
            user=request.user, meeting_point=meeting_point, title=data["title"], slots=data["slots"],
            seat_code=data.get("seat") or None, description=data.get("description", ""),
            what_to_bring=data.get("what_to_bring"), requires_approval=data.get("requires_approval", False),
            confirm_required=data.get("confirm_required", False),
        )
        return Response(SessionHostSerializer(self.get_queryset().get(pk=session.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SessionUpdateSerializer, responses=SessionHostSerializer,
                   summary="Host: edit a session or add slots")
    def partial_update(self, request, *args, **kwargs):
        serializer = SessionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        details = {name: data.get(name) for name in recurrence.DETAILS}
        session_id = self._managed_session_id(kwargs["pk"])
        with transaction.atomic():
            session = services.session_update(user=request.user, session_id=session_id, seat_code=data.get("seat"),
                                              new_slots=data.get("add_slots", ()), **details)
            if data["apply_to"] == "later":
                recurrence.series_details_update(user=request.user, session_id=session_id, **details)
        return Response(SessionHostSerializer(self.get_queryset().get(pk=session.pk)).data)

    @extend_schema(request=None, responses=SessionHostSerializer,
                   summary="Host: cancel a session and all its bookings")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = services.session_cancel(user=request.user, session_id=self._managed_session_id(pk))
        return Response(SessionHostSerializer(self.get_queryset().get(pk=session.pk)).data)

    def _own_meeting_point(self, meeting_point_id: int) -> MeetingPoint:
        query = MeetingPoint.objects.all()
        if not self.request.user.is_staff:
            query = query.filter(host=self.request.user)
        elif not (scope := seat_scope_for(self.request.user)).national:
            query = query.filter(scope.q("seat") | Q(host=self.request.user))
        meeting_point = query.filter(pk=meeting_point_id).first()
        if meeting_point is None:
            raise InvalidInput(gettext("Unknown meeting point."), code="unknown_meeting_point",
                               fields={"meeting_point": [gettext("Not one of your meeting points.")]})
        return meeting_point

    def _managed_session_id(self, pk) -> int:
        return selectors.session_managed(user=self.request.user, session_id=pk).pk


class ReviewRefuseSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why not: the host sees it.")


class ReviewViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """New hosts' sessions waiting for an organiser's check (sessions.vetting): every one for a coordinator, those in
    their own seats for a trusted host, none for anyone else. A trusted host is another host: they see what the
    public would (title, description, seat, postcode district), never the room, its address or its host."""

    permission_classes = [IsAuthenticated]
    pagination_class = SessionPagination
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        user = getattr(self.request, "user", None)
        return SessionHostSerializer if user is not None and user.is_staff else SessionPublicSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CanvassSession.objects.none()
        return vetting.sessions_in_review(user=self.request.user)

    def _answer(self, session) -> Response:
        fresh = CanvassSession.objects.select_related("seat", "meeting_point").prefetch_related("slots").get(
            pk=session.pk)
        return Response(self.get_serializer_class()(fresh).data)

    @extend_schema(request=None, responses=SessionPublicSerializer, summary="Reviewer: approve and publish a session")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._answer(vetting.session_approve(user=request.user, session_id=int(pk)))

    @extend_schema(request=ReviewRefuseSerializer, responses=SessionPublicSerializer,
                   summary="Reviewer: refuse a session, with a reason its host sees")
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        serializer = ReviewRefuseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(vetting.session_refuse(user=request.user, session_id=int(pk),
                                                   reason=serializer.validated_data["reason"]))


class SlotViewSet(mixins.UpdateModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    lookup_value_regex = ID_PATTERN
    serializer_class = SlotUpdateSerializer
    http_method_names = ["patch", "options"]
    queryset = Slot.objects.all()

    @extend_schema(request=SlotUpdateSerializer, responses=SlotSerializer, summary="Host: change a slot's capacity or turf")
    def partial_update(self, request, *args, **kwargs):
        serializer = SlotUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slot = Slot.objects.select_related("session__meeting_point").filter(pk=kwargs["pk"]).first()
        user = request.user
        if slot is None or not services.meeting_point_managed_by(user=user, meeting_point=slot.session.meeting_point):
            raise NotFound()
        slot = services.slot_update(user=user, slot_id=slot.pk, **serializer.validated_data)
        return Response(SlotSerializer(slot).data)
