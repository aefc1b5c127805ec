from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsCoordinator
from core.ratelimit import client_ip, ip_throttle
from dispatch.serializers import (
    CoverageQuerySerializer,
    CoverageRowSerializer,
    OverflowRequestSerializer,
    OverflowResultSerializer,
    RunCreateSerializer,
    RunSerializer,
    SuggestionQuerySerializer,
    SuggestionSerializer,
    VolunteerChangeSerializer,
    VolunteerRegisterSerializer,
)
from dispatch.services import assignment, coverage, overflow, suggestions
from seats.scopes import seat_scope_for
from volunteers import signup
from volunteers.api import booking_by_token
from volunteers.consent_ledger import challenge_campaign_said
from volunteers.identity import volunteer_signup_request
from volunteers.serializers import (
    BookingSerializer,
    ChallengeSerializer,
    VolunteerRegisteredSerializer,
    volunteer_registered_data,
)


class VolunteerRegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ip_throttle("signup_ip")]
    schema_error_statuses = {"POST": ["429"]}

    @extend_schema(
        request=VolunteerRegisterSerializer, responses={202: ChallengeSerializer},
        summary="Sign up to be dispatched (no account needed)",
        description="Texts the phone a 6-digit code; the answer is the same whether the mobile has signed up "
        "before or not. POST the code to /api/challenges/{token}/verify/: that answers with the volunteer and "
        "their private token, and only then does a known volunteer's record change (availability replaced, a "
        "fresh token: the previous one stops working). Only proven volunteers are dispatched.",
    )
    def post(self, request):
        serializer = VolunteerRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = serializer.validated_data.pop("consent_campaign", False)
        challenge = volunteer_signup_request(client_ip=client_ip(request), **serializer.validated_data)
        if campaign:  # counts once the phone is proven (volunteers.consent_ledger)
            challenge_campaign_said(challenge=challenge, given=True, how="api")
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_202_ACCEPTED)


class VolunteerSignupView(APIView):
    """A proven sign-up through its private token (the one the code's verify answers with, and the sign-up's
    texted link /n/{token}): read it, or change its availability."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=VolunteerRegisteredSerializer, summary="A sign-up: its availability and travel limit",
                   description="404 for an unknown token, or one a newer proven sign-up or a data erasure replaced.")
    def get(self, request, token: str):
        return Response(volunteer_registered_data(signup.signup_by_link(token=token)))

    @extend_schema(request=VolunteerChangeSerializer, responses=VolunteerRegisteredSerializer,
                   summary="Change a sign-up's availability (and travel limit, postcode or district)",
                   description="Only what is given changes. An availability replaces the old one; a stopped sign-up "
                   "is back on the list.")
    def patch(self, request, token: str):
        serializer = VolunteerChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        volunteer = signup.signup_change(token=token, **serializer.validated_data)
        return Response(volunteer_registered_data(volunteer))


class VolunteerStopView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=VolunteerRegisteredSerializer,
                   summary="Stop a sign-up: no longer sent anywhere",
                   description="Removes the availability: no assignment run or suggestion uses the volunteer until "
                   "a PATCH gives some again. Bookings stay. Idempotent.")
    def post(self, request, token: str):
        return Response(volunteer_registered_data(signup.signup_stop(token=token)))


class VolunteerSuggestionsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        parameters=[SuggestionQuerySerializer], responses=SuggestionSerializer(many=True),
        summary="The best slots for this volunteer now",
        description="Score = 20 km x (5 - seat priority) + 10 km x (free places / capacity) - travel km. Only slots "
        "with a free place, inside the volunteer's availability and travel limit.",
    )
    def get(self, request, token: str):
        query = SuggestionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        volunteer = suggestions.volunteer_by_token(token)
        ranked = suggestions.suggestions_for_volunteer(volunteer=volunteer, limit=query.validated_data["limit"])
        return Response(SuggestionSerializer(ranked, many=True).data)


class RunListView(APIView):
    permission_classes = [IsCoordinator]
    seat_scoped = True  # regional organisers: their region or seats only (seats.scopes)

    @extend_schema(request=RunCreateSerializer, responses={202: RunSerializer}, summary="Start an assignment run",
                   description="Solved by a Celery task; poll the run for progress. Nothing is booked until commit.")
    def post(self, request):
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = assignment.run_start(user=request.user, date_from=data["date_from"], date_to=data["date_to"],
                                   region=data.get("region") or None, seat_codes=data.get("seats"), k=data.get("k"),
                                   scope=seat_scope_for(request.user))
        return Response(RunSerializer(assignment.run_get(run_id=run.pk)).data, status=status.HTTP_202_ACCEPTED)


class RunDetailView(APIView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(responses=RunSerializer, summary="An assignment run: state, progress and totals")
    def get(self, request, run_id: int):
        return Response(RunSerializer(assignment.run_get(run_id=run_id, scope=seat_scope_for(request.user))).data)


class RunCommitView(APIView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(request=None, responses={202: RunSerializer}, summary="Commit a solved run: book everyone",
                   description="Books by a Celery task. Committing again does nothing. Anyone who no longer fits "
                   "(slot filled by hand, clashing booking) is skipped and counted in totals.skipped_at_commit.")
    def post(self, request, run_id: int):
        run = assignment.run_commit(run_id=run_id, user=request.user, scope=seat_scope_for(request.user))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class OverflowView(APIView):
    permission_classes = [IsCoordinator]
    seat_scoped = True
    schema_error_statuses = {"POST": ["404"]}  # the seat or session named in the body does not exist

    @extend_schema(request=OverflowRequestSerializer, responses=OverflowResultSerializer,
                   summary="Send a full seat's or session's waitlist to neighbouring seats (or plan it with dry_run)")
    def post(self, request):
        serializer = OverflowRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        scope = seat_scope_for(request.user)
        source_slots, source_seats = overflow.source_slots_resolve(seat_code=data.get("seat"),
                                                                    session_id=data.get("session"), scope=scope)
        params = {key: value for key, value in data.items() if value not in (None, "", [])}
        result = overflow.overflow_run(source_slots=source_slots, source_seats=source_seats,
                                       target_seats=data.get("target_seats"), dry_run=data["dry_run"],
                                       actor=request.user, params=params, scope=scope)
        return Response(OverflowResultSerializer(result.as_dict()).data)


class CoverageView(APIView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(parameters=[CoverageQuerySerializer], responses=CoverageRowSerializer(many=True),
                   summary="Coverage per seat for a period")
    def get(self, request):
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        date_from, date_to = coverage.coverage_period(date_from=data.get("date_from"), date_to=data.get("date_to"))
        rows = coverage.coverage_by_seat(date_from=date_from, date_to=date_to, region=data.get("region") or None,
                                         scope=seat_scope_for(request.user))
        return Response(CoverageRowSerializer(rows, many=True).data)


class RedirectDeclineView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=BookingSerializer,
                   parameters=[OpenApiParameter("token", str, OpenApiParameter.PATH,
                                                description="manage_token of the new or the original booking")],
                   summary="Decline a redirect: back to the original waitlist",
                   description="Cancels the booking at the neighbouring seat and returns the original waitlisted "
                   "booking at its original place in the queue. Idempotent.")
    def post(self, request, token: str):
        old = overflow.booking_redirect_decline(manage_token=token)
        return Response(BookingSerializer(booking_by_token(old.manage_token)).data)
