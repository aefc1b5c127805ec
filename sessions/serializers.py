from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.serializers import (
    SEAT_CODE_PATTERN,
    QuerySerializer,
    RejectUnknownFieldsMixin,
    StrictSerializer,
    postcode_field,
    postcode_or_district_field,
)
from seats.serializers import SeatSummarySerializer
from sessions.locations import approximate, public_distance_km
from sessions.models import CanvassSession, MeetingPoint, Slot


class MeetingPointSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    # A room needs its exact place: a district alone (e.g. SW11), which volunteers may give, is refused here.
    postcode = postcode_field(help_text="The room's full postcode, e.g. SW1A 1AA (a district alone is not enough).")
    seat = serializers.CharField(source="seat_id", read_only=True, allow_null=True)

    class Meta:
        model = MeetingPoint
        fields = [
            "id", "name", "address", "postcode", "capacity", "accessibility_notes", "host_first_name", "host_phone",
            "lat", "lng", "seat", "is_active", "created_at",
        ]
        # Not the public point: the host has no use for it, and the public see it rounded (sessions.locations).
        read_only_fields = ["id", "lat", "lng", "seat", "created_at"]
        extra_kwargs = {"capacity": {"min_value": 1, "max_value": 500}, }


class SlotInputSerializer(StrictSerializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=1, max_value=500)
    turf = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class SlotSerializer(serializers.ModelSerializer):
    places_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = Slot
        fields = ["id", "starts_at", "ends_at", "capacity", "places_left", "turf"]


class SlotPublicSerializer(SlotSerializer):
    class Meta(SlotSerializer.Meta):
        fields = ["id", "starts_at", "ends_at", "capacity", "places_left"]


class SlotUpdateSerializer(StrictSerializer):
    capacity = serializers.IntegerField(min_value=1, max_value=500, required=False)
    turf = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class ApproximateLocationSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class SessionPublicSerializer(serializers.ModelSerializer):
    """What anyone may see: no address, no host contact details, and a location and distance from the
    meeting point's public point (sessions.locations), never the front door. Only slots that have not started
    are offered."""

    seat = SeatSummarySerializer(read_only=True)
    distance_km = serializers.SerializerMethodField()
    approximate_location = serializers.SerializerMethodField()
    slots = serializers.SerializerMethodField()

    class Meta:
        model = CanvassSession
        fields = [
            "id", "title", "description", "what_to_bring", "status", "distance_km", "seat", "postcode_district",
            "approximate_location", "starts_at", "ends_at", "slots",
        ]

    def get_distance_km(self, session) -> float | None:
        distance = getattr(session, "distance_km", None)
        return None if distance is None else public_distance_km(distance)

    @extend_schema_field(SlotPublicSerializer(many=True))
    def get_slots(self, session) -> list:
        now = timezone.now()
        return SlotPublicSerializer([slot for slot in session.slots.all() if slot.starts_at > now], many=True).data

    @extend_schema_field(ApproximateLocationSerializer)
    def get_approximate_location(self, session):
        return {"lat": approximate(session.lat), "lng": approximate(session.lng)}


class SessionHostSerializer(SessionPublicSerializer):
    """What the session's host (and coordinators) see."""

    meeting_point = MeetingPointSerializer(read_only=True)
    slots = SlotSerializer(many=True, read_only=True)

    class Meta(SessionPublicSerializer.Meta):
        fields = SessionPublicSerializer.Meta.fields + ["requires_approval", "confirm_required", "series",
                                                        "meeting_point", "cancelled_at", "review_reason", "created_at"]


class SessionCreateSerializer(StrictSerializer):
    meeting_point = serializers.IntegerField()
    seat = serializers.CharField(required=False, allow_blank=True, max_length=9)
    title = serializers.CharField(max_length=140)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    what_to_bring = serializers.CharField(required=False, allow_blank=True, max_length=200)
    requires_approval = serializers.BooleanField(
        required=False, default=False, help_text="The host approves each volunteer before the address is released.")
    confirm_required = serializers.BooleanField(required=False, default=False, help_text=(
        "Places not confirmed (reply OK, or the link) CONFIRM_DEADLINE_HOURS before the start go to the waitlist."))
    slots = SlotInputSerializer(many=True, allow_empty=False, min_length=1, max_length=settings.MAX_SLOTS_PER_SESSION)


class SessionUpdateSerializer(StrictSerializer):
    seat = serializers.CharField(required=False, max_length=9)
    title = serializers.CharField(required=False, max_length=140)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    what_to_bring = serializers.CharField(required=False, allow_blank=True, max_length=200)
    requires_approval = serializers.BooleanField(required=False)
    confirm_required = serializers.BooleanField(required=False)
    apply_to = serializers.ChoiceField(choices=["this", "later"], required=False, default="this", help_text=(
        "later: the details (not add_slots) go to this and every later session of its series as well."))
    add_slots = SlotInputSerializer(many=True, required=False, max_length=settings.MAX_SLOTS_PER_SESSION)


class SessionSearchSerializer(QuerySerializer):
    near = postcode_or_district_field(required=False, help_text="Postcode or postcode district (e.g. SW11, its centre): nearest sessions first.")
    radius_km = serializers.FloatField(required=False, min_value=0.1, max_value=settings.MAX_SEARCH_RADIUS_KM,
                                       help_text="With near: search radius in km (default 25).")
    date_from = serializers.DateTimeField(required=False)
    date_to = serializers.DateTimeField(required=False)
    seat = serializers.RegexField(SEAT_CODE_PATTERN, required=False, max_length=9,
                                  help_text="ONS code of the target seat.")
    mine = serializers.BooleanField(required=False, default=False,
                                    help_text="Host: your own sessions, cancelled ones included.")


class SearchOriginSerializer(serializers.Serializer):
    postcode = serializers.CharField()
    precision = serializers.ChoiceField(choices=["postcode", "remote", "district"])
    radius_km = serializers.FloatField()


# Already a page: without many=False the schema would wrap it in a second, paginated list.
@extend_schema_serializer(many=False)
class SessionSearchPageSerializer(serializers.Serializer):
    """A page of sessions. With `near`, `count` is null when more pages follow (counting would cost a scan)."""

    count = serializers.IntegerField(allow_null=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    near = SearchOriginSerializer(required=False)
    results = SessionPublicSerializer(many=True)


_datetime_field = serializers.DateTimeField()


def datetime_writer(tz):
    """DateTimeField's representation (ISO 8601 in the time zone `tz`, UTC written "Z") for many values: the field
    itself looks the current time zone up (a thread-local read) for each of a search page's ~120 times."""

    def write(value) -> str:
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def session_search_row_data(row: dict, *, when=None) -> dict:
    """The SessionPublicSerializer shape for a row from selectors.sessions_near, without building models.
    `when` writes the times (session_search_rows_data passes one for the page); DateTimeField's by default."""
    when = when or _datetime_field.to_representation
    return {
        "id": row["id"], "title": row["title"], "description": row["description"],
        "what_to_bring": row["what_to_bring"], "status": CanvassSession.Status.PUBLISHED.value,
        "distance_km": public_distance_km(row["distance_km"]), "seat": row["seat"],
        "postcode_district": row["postcode_district"],
        "approximate_location": {"lat": approximate(row["lat"]), "lng": approximate(row["lng"])},
        "starts_at": when(row["starts_at"]), "ends_at": when(row["ends_at"]),
        "slots": [{"id": slot["id"], "starts_at": when(slot["starts_at"]), "ends_at": when(slot["ends_at"]),
                   "capacity": slot["capacity"], "places_left": slot["places_left"]} for slot in row["slots"]],
    }


def session_search_rows_data(rows: list[dict]) -> list[dict]:
    """session_search_row_data for a page of rows, the time zone looked up once."""
    when = datetime_writer(timezone.get_current_timezone())
    return [session_search_row_data(row, when=when) for row in rows]
