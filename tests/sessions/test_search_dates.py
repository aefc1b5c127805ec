"""A date filter shows only the slots inside the dates, on PostgreSQL and on the embedded SQLite."""

import textwrap
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from sessions.selectors import sessions_near
from tests.embedded import embedded_run
from tests.factories import CanvassSessionFactory, MeetingPointFactory, SeatFactory, SlotFactory, UserFactory

pytestmark = pytest.mark.django_db


def _days_ahead(days: int) -> datetime:
    return datetime.combine(timezone.localdate() + timedelta(days=days), time(10), timezone.get_current_timezone())


@pytest.fixture
def friday_and_sunday():
    """One session whose slots are on day +5 and day +7: its span covers day +6, where it has nothing."""
    room = MeetingPointFactory(host=UserFactory(username="dates-host"), seat=SeatFactory(), lat=53.38, lng=-1.5)
    friday, sunday = _days_ahead(5), _days_ahead(7)
    session = CanvassSessionFactory(meeting_point=room, starts_at=friday, ends_at=sunday + timedelta(hours=2))
    return {"friday": SlotFactory(session=session, starts_at=friday, ends_at=friday + timedelta(hours=2)),
            "sunday": SlotFactory(session=session, starts_at=sunday, ends_at=sunday + timedelta(hours=2))}


def _search(day: int, last_day: int | None = None) -> list[dict]:
    start = _days_ahead(day).replace(hour=0)
    end = _days_ahead(last_day if last_day is not None else day).replace(hour=0) + timedelta(days=1)
    return sessions_near(lat=53.38, lng=-1.5, radius_km=10, limit=10, date_from=start, date_to=end)


def test_a_day_without_slots_finds_no_session(friday_and_sunday):
    assert _search(6) == []


def test_only_the_slots_inside_the_dates_are_listed(friday_and_sunday):
    [row] = _search(7)
    assert [slot["id"] for slot in row["slots"]] == [friday_and_sunday["sunday"].id]
    [row] = _search(5, 7)
    assert len(row["slots"]) == 2


@pytest.mark.server  # a child process
def test_the_embedded_sqlite_search_agrees(tmp_path):
    result = embedded_run(textwrap.dedent("""
        import django, json
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from tests.sessions.test_search_dates import _days_ahead, _search
        from tests.factories import CanvassSessionFactory, MeetingPointFactory, SeatFactory, SlotFactory, UserFactory
        from datetime import timedelta
        room = MeetingPointFactory(host=UserFactory(username="h"), seat=SeatFactory(), lat=53.38, lng=-1.5)
        friday, sunday = _days_ahead(5), _days_ahead(7)
        session = CanvassSessionFactory(meeting_point=room, starts_at=friday, ends_at=sunday + timedelta(hours=2))
        SlotFactory(session=session, starts_at=friday, ends_at=friday + timedelta(hours=2))
        sunday_slot = SlotFactory(session=session, starts_at=sunday, ends_at=sunday + timedelta(hours=2))
        print("RESULT " + json.dumps({"saturday": len(_search(6)),
                                      "sunday": [s["id"] for s in _search(7)[0]["slots"]],
                                      "sunday_slot": sunday_slot.id}))
    """), tmp_path)
    assert result["saturday"] == 0
    assert result["sunday"] == [result["sunday_slot"]]
