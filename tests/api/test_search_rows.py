"""The search API's rows write times exactly as DRF's DateTimeField does, in whatever time zone is current."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework import serializers

from sessions.serializers import datetime_writer, session_search_row_data, session_search_rows_data


def _row(when: datetime) -> dict:
    return {"id": 1, "title": "t", "description": "", "what_to_bring": "", "distance_km": 1.0, "seat": {},
            "postcode_district": "S10", "lat": 53.38, "lng": -1.5, "starts_at": when, "ends_at": when,
            "slots": [{"id": 2, "starts_at": when, "ends_at": when, "capacity": 3, "places_left": 1}]}


@pytest.mark.parametrize("when", [
    datetime(2026, 12, 5, 10, 0, tzinfo=UTC), datetime(2026, 7, 4, 9, 30, 15, 250, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
])
@pytest.mark.parametrize("zone", ["Europe/London", "UTC", "America/New_York"])
def test_search_pages_write_times_as_the_datetime_field_does(when, zone):
    field = serializers.DateTimeField()
    with timezone.override(zone):
        expected = field.to_representation(when)
        assert datetime_writer(timezone.get_current_timezone())(when) == expected
        page = session_search_rows_data([_row(when)])
        assert page == [session_search_row_data(_row(when))]
        assert page[0]["starts_at"] == page[0]["slots"][0]["ends_at"] == expected
