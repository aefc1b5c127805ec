from rest_framework import serializers

from core.serializers import QuerySerializer, StrictSerializer, postcode_or_district_field
from seats.models import Seat


class SeatSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Seat
        fields = ["ons_code", "name", "priority"]


class SeatSerializer(serializers.ModelSerializer):
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = Seat
        fields = [
            "ons_code", "name", "nation", "region", "lat", "lng", "distance_km", "priority", "is_target",
            "winner", "runner_up", "majority", "majority_pct", "electorate", "election_year", "boundary_set",
            "notional_year", "notional_winner", "notional_majority", "notional_majority_pct",
        ]

    def get_distance_km(self, seat) -> float | None:
        distance = getattr(seat, "distance_km", None)
        return None if distance is None else round(distance, 2)


class NeighbourSerializer(serializers.ModelSerializer):
    class Meta:
        model = Seat
        fields = ["ons_code", "name", "priority", "winner", "majority_pct"]


class SeatDetailSerializer(SeatSerializer):
    neighbours = NeighbourSerializer(many=True, read_only=True, source="neighbours_in_set")
    computed_priority = serializers.IntegerField(read_only=True)
    priority_override = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(SeatSerializer.Meta):
        fields = SeatSerializer.Meta.fields + ["computed_priority", "priority_override", "area_km2", "neighbours"]


class SeatListQuerySerializer(QuerySerializer):
    near = postcode_or_district_field(required=False, help_text="A UK postcode or postcode district (e.g. SW11): seats nearest first.")
    q = serializers.CharField(required=False, max_length=100, help_text="Name contains, or an exact ONS code.")
    region = serializers.CharField(required=False, max_length=60, help_text="Exactly this region (any case).")
    max_priority = serializers.IntegerField(required=False, min_value=1, max_value=5,
                                            help_text="Only seats with priority at most this (1 = most important).")


class SeatPrioritySerializer(StrictSerializer):
    priority_override = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False)
    is_target = serializers.BooleanField(required=False)
