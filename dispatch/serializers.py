from django.conf import settings
from django.utils.translation import gettext
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.errors import InvalidInput
from core.serializers import (
    SEAT_CODE_PATTERN,
    QuerySerializer,
    StrictSerializer,
    phone_field,
    postcode_or_district_field,
)
from dispatch.models import AssignmentRun
from seats.geocoding import postcode_locate
from volunteers.models import PARTY_SIZE_LIMIT, Volunteer
from volunteers.phones import phone_normalise
from volunteers.registration import MAX_TRAVEL_KM, MAX_WINDOWS, availability_validate, signup_party_validate
from volunteers.serializers import (  # noqa: F401 - re-exported
    CAMPAIGN_HELP,
    AvailabilityWindowSerializer,
    VolunteerRegisteredSerializer,
    party_names_field,
)


class VolunteerRegisterSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    mobile = phone_field(required=False,
                                   help_text="UK mobile number, e.g. 07400 123456. `phone` is accepted too.")
    phone = phone_field(required=False, help_text="Alias of `mobile`.")
    postcode = postcode_or_district_field()
    max_travel_km = serializers.FloatField(min_value=0.5, max_value=MAX_TRAVEL_KM,
                                           help_text="How far the volunteer will travel, in km.")
    availability = AvailabilityWindowSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_WINDOWS)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    consent_sms = serializers.BooleanField(default=False,
                                           help_text="The volunteer agrees to receive texts about dispatch.")
    consent_email = serializers.BooleanField(default=False, help_text="The volunteer agrees to emails at `email` "
                                             "about their bookings (volunteers.consent.CONSENT_EMAIL_TEXT).")
    travel = serializers.ChoiceField(choices=Volunteer.Travel.choices, default=Volunteer.Travel.OWN,
                                     help_text="How they get to a session: on their own, as a driver with `car_seats` "
                                     "for others, or needing a lift (assignment runs put riders in drivers' cars).")
    car_seats = serializers.IntegerField(min_value=0, max_value=7, default=0,
                                         help_text="A driver's seats for other volunteers (1-7).")
    consent_campaign = serializers.BooleanField(default=False, help_text=CAMPAIGN_HELP)
    party_size = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=PARTY_SIZE_LIMIT,
        help_text=f"How many people come: the volunteer and the others coming with them (1 = alone; at most "
        f"PARTY_MAX, {settings.PARTY_MAX} by default). An assignment run places them all in one slot, as one booking "
        "of that size, or not at all; a driver's party takes that many of `car_seats` less one.")
    party_names = party_names_field(
        help_text="Optional first names of the others (at most party_size - 1), shown to the host of their place only.")

    def validate_mobile(self, value: str) -> str:
        return _phone_checked(value, field="mobile")

    def validate_phone(self, value: str) -> str:
        return _phone_checked(value, field="phone")

    def to_internal_value(self, data):
        # Every bad field in one answer, as the booking request does (issue 22): the fields' own errors, a missing
        # phone, then the checks the service would make next (the postcode's place, the windows' order).
        try:
            attrs, errors = super().to_internal_value(data), {}
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            attrs, errors = None, dict(exc.detail)
        given = data.get if hasattr(data, "get") else (lambda key: None)
        if not (given("mobile") or given("phone")) and not {"mobile", "phone"} & errors.keys():
            errors["mobile"] = [ErrorDetail(gettext("This field is required."), code="phone_required")]
        if attrs is not None and "availability" in attrs:
            _add_problem(errors, lambda: availability_validate(attrs["availability"]))
        if attrs is not None and not {"party_size", "party_names"} & errors.keys():
            _add_problem(errors, lambda: _party_checked(attrs))
        if errors:
            postcode = given("postcode")
            if "postcode" not in errors and isinstance(postcode, str) and postcode.strip():
                _add_problem(errors, lambda: postcode_locate(postcode))
            raise serializers.ValidationError(errors)
        attrs["phone"] = attrs.pop("mobile", None) or attrs.pop("phone", None)
        return attrs


def _phone_checked(value: str, *, field: str) -> str:
    try:
        phone_normalise(value, field=field)
    except InvalidInput as exc:
        raise serializers.ValidationError(exc.fields[field], code=exc.code) from None
    return value


def _party_checked(attrs: dict) -> None:
    """The party as the service stores it: over PARTY_MAX (party_too_big) or too many names names its field."""
    attrs["party_size"], attrs["party_names"] = signup_party_validate(attrs.get("party_size", 1),
                                                                      attrs.get("party_names"))


def _add_problem(errors: dict, check) -> None:
    try:
        check()
    except InvalidInput as problem:
        for field, messages in problem.fields.items():
            code = problem.field_codes.get(field, problem.code)
            errors.setdefault(field, [ErrorDetail(message, code=code) for message in messages])


class VolunteerChangeSerializer(StrictSerializer):
    """What a sign-up changes: its availability (replacing the old), travel limit, postcode or district."""

    availability = AvailabilityWindowSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_WINDOWS,
                                                required=False)
    max_travel_km = serializers.FloatField(min_value=0.5, max_value=MAX_TRAVEL_KM, required=False,
                                           help_text="How far the volunteer will travel, in km.")
    postcode = postcode_or_district_field(required=False)
    travel = serializers.ChoiceField(choices=Volunteer.Travel.choices, required=False)
    car_seats = serializers.IntegerField(min_value=0, max_value=7, required=False, default=0)
    party_size = serializers.IntegerField(min_value=1, max_value=PARTY_SIZE_LIMIT, required=False,
                                          help_text="How many people come, the volunteer included.")
    party_names = party_names_field()


class SuggestionSerializer(serializers.Serializer):
    slot_id = serializers.IntegerField(source="slot.pk")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    session_id = serializers.IntegerField(source="slot.session_id")
    session_title = serializers.CharField(source="slot.session.title")
    postcode_district = serializers.CharField(source="slot.session.postcode_district")
    seat = serializers.CharField(source="slot.session.seat_id")
    seat_name = serializers.CharField(source="slot.session.seat.name")
    priority = serializers.IntegerField(source="slot.session.seat.priority")
    distance_km = serializers.FloatField()
    places_left = serializers.IntegerField()
    score = serializers.FloatField()
    reason = serializers.CharField()


class SuggestionQuerySerializer(QuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class RunCreateSerializer(StrictSerializer):
    date_from = serializers.DateTimeField()
    date_to = serializers.DateTimeField()
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)
    seats = serializers.ListField(child=serializers.RegexField(SEAT_CODE_PATTERN, max_length=9), required=False,
                                  max_length=700,
                                  help_text="ONS codes; only slots in these seats.")
    k = serializers.IntegerField(min_value=1, max_value=50, required=False,
                                 help_text="Arcs kept per volunteer (their best-valued feasible slots).")


class RunSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    committed_by = serializers.CharField(source="committed_by.username", default=None, allow_null=True)

    class Meta:
        model = AssignmentRun
        fields = ["id", "state", "progress", "progress_message", "params", "totals", "error", "created_by",
                  "committed_by", "created_at", "started_at", "solved_at", "committed_at"]


class OverflowRequestSerializer(StrictSerializer):
    seat = serializers.RegexField(SEAT_CODE_PATTERN, max_length=9, required=False, help_text="ONS code of the full seat.")
    session = serializers.IntegerField(required=False, help_text="Id of the full session.")
    target_seats = serializers.ListField(child=serializers.RegexField(SEAT_CODE_PATTERN, max_length=9), required=False,
                                         max_length=200,
                                         help_text="Where to send people (default: neighbours, then theirs).")
    dry_run = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if bool(attrs.get("seat")) == (attrs.get("session") is not None):
            raise InvalidInput(gettext("Give either seat or session."), code="seat_or_session",
                               fields={"seat": [gettext("Give either seat or session.")]})
        return attrs


class MoveSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    volunteer = serializers.IntegerField()
    volunteer_name = serializers.CharField()
    from_slot = serializers.IntegerField()
    from_seat = serializers.CharField()
    to_slot = serializers.IntegerField()
    to_seat = serializers.CharField()
    to_seat_name = serializers.CharField()
    ring = serializers.IntegerField()
    priority = serializers.IntegerField()
    distance_km = serializers.FloatField()
    new_booking = serializers.IntegerField(allow_null=True)


class UnplacedSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    volunteer = serializers.IntegerField()
    from_slot = serializers.IntegerField()
    reason = serializers.CharField()


class OverflowResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    moved = serializers.IntegerField()
    not_placed = serializers.IntegerField()
    moves = MoveSerializer(many=True)
    unplaced = UnplacedSerializer(many=True)
    action = serializers.IntegerField(allow_null=True, help_text="The audit record of this coordinator action.")


class CoverageQuerySerializer(QuerySerializer):
    date_from = serializers.DateTimeField(required=False, help_text="Default: now (or 7 days before date_to).")
    date_to = serializers.DateTimeField(required=False, help_text="Default: 7 days after date_from.")
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)


class CoverageRowSerializer(serializers.Serializer):
    seat = serializers.CharField()
    name = serializers.CharField()
    region = serializers.CharField()
    priority = serializers.IntegerField()
    slots = serializers.IntegerField()
    places = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    waitlisted = serializers.IntegerField()
    fill_pct = serializers.FloatField()
    overflow_sent = serializers.IntegerField()
    overflow_received = serializers.IntegerField()
    need = serializers.IntegerField(help_text="Proven places the seat needs over the period.")
    proven = serializers.IntegerField(help_text="Confirmed places whose phone is proven.")
    unproven = serializers.IntegerField(help_text="Places held by phones not yet proven (not counted).")
    expected = serializers.IntegerField(help_text="Proven places times the seat's expected turnout rate (learned).")
    shortfall = serializers.IntegerField(help_text="max(0, need - expected).")
