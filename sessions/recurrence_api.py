"""POST /api/sessions/<id>/repeat/: a host repeats a session (sessions.recurrence), answering the new sessions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import StrictSerializer
from sessions.models import CanvassSession
from sessions.recurrence import session_repeat
from sessions.serializers import SessionHostSerializer
from sessions.services import COPIES_MAX


class SessionRepeatSerializer(StrictSerializer):
    dates = serializers.ListField(child=serializers.DateField(), required=False, max_length=COPIES_MAX,
                                  help_text=f"Days to repeat the session on (YYYY-MM-DD), at most {COPIES_MAX}.")
    weekly_until = serializers.DateField(required=False, help_text=(
        "Repeat every week on the session's weekday, from a week after it, until this day (inclusive)."))


class SessionRepeatView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=SessionRepeatSerializer, responses={201: SessionHostSerializer(many=True)},
                   summary="Host: repeat a session weekly or on chosen dates",
                   description="Each new session is a copy (same meeting point, details and slots at the same local "
                               "times, no bookings), linked to this one by its `series`. All or none: a 400 names "
                               "the field (`weekly_until`, `dates` or `dates.<i>`) of a past, repeated or taken day.")
    def post(self, request, pk: int):
        serializer = SessionRepeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        copies = session_repeat(user=request.user, session_id=pk, dates=data.get("dates"),
                                weekly_until=data.get("weekly_until"))
        sessions = CanvassSession.objects.select_related("meeting_point", "seat").prefetch_related("slots").filter(
            pk__in=[copy.pk for copy in copies]).order_by("starts_at", "id")
        return Response(SessionHostSerializer(sessions, many=True).data, status=status.HTTP_201_CREATED)
