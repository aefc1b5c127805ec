"""POST /api/sessions/<id>/repeat/ and series edits (sessions.recurrence, issue 25)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import CanvassSession, Slot
from tests.factories import CanvassSessionFactory, MeetingPointFactory, SlotFactory, book

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(host):
    starts = (timezone.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    session = CanvassSessionFactory(meeting_point=MeetingPointFactory(host=host), starts_at=starts,
                                    ends_at=starts + timedelta(hours=3), confirm_required=True)
    SlotFactory(session=session, starts_at=starts, ends_at=starts + timedelta(hours=1), capacity=4)
    SlotFactory(session=session, starts_at=starts + timedelta(hours=1), ends_at=starts + timedelta(hours=3), capacity=6)
    return session


def _day(session, weeks: int = 0, days: int = 0):
    return timezone.localtime(session.starts_at).date() + timedelta(weeks=weeks, days=days)


def test_a_host_repeats_a_session_weekly_and_gets_the_new_sessions_linked_in_a_series(host_api, session):
    response = host_api.post(f"/api/sessions/{session.pk}/repeat/",
                             {"weekly_until": _day(session, weeks=3).isoformat()}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [timezone.datetime.fromisoformat(s["starts_at"]).date() for s in body] == [
        _day(session, weeks=n) for n in (1, 2, 3)]
    session.refresh_from_db()
    assert session.series is not None and {s["series"] for s in body} == {str(session.series)}
    assert all(s["confirm_required"] for s in body) and all(len(s["slots"]) == 2 for s in body)
    assert CanvassSession.objects.filter(series=session.series).count() == 4
    assert not any(Slot.objects.filter(session_id=s["id"], confirmed_count__gt=0).exists() for s in body)


def test_repeating_on_chosen_dates_extends_the_same_series_and_refuses_a_day_it_has(host_api, session):
    host_api.post(f"/api/sessions/{session.pk}/repeat/", {"dates": [_day(session, weeks=1).isoformat()]}, format="json")
    again = host_api.post(f"/api/sessions/{session.pk}/repeat/",
                          {"dates": [_day(session, days=3).isoformat(), _day(session, weeks=1).isoformat()]},
                          format="json")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"dates.1": ["The series has a session that day."]}
    assert CanvassSession.objects.count() == 2  # all or none


@pytest.mark.parametrize(("body", "field"), [
    ({"dates": ["2020-01-04"]}, "dates.0"),
    ({"dates": ["{d3}", "{d3}"]}, "dates.1"),
    ({"weekly_until": "{d0}"}, "weekly_until"),
    ({}, "weekly_until"),
    ({"weekly_until": "{far}"}, "weekly_until"),
    ({"dates": "not-a-list"}, "dates"),
    ({"weekly_until": "soon"}, "weekly_until"),
    ({"weekly_until": "{d3}", "surprise": 1}, "surprise"),
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(host_api, session, body, field):
    days = {"d0": _day(session).isoformat(), "d3": _day(session, days=3).isoformat(),
            "far": _day(session, weeks=30).isoformat()}
    body = {key: value.format(**days) if isinstance(value, str) else
            [item.format(**days) for item in value] if isinstance(value, list) else value
            for key, value in body.items()}
    response = host_api.post(f"/api/sessions/{session.pk}/repeat/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert CanvassSession.objects.count() == 1


def test_only_the_sessions_host_may_repeat_it(other_host_api, session):
    from rest_framework.test import APIClient

    api_client = APIClient()
    assert other_host_api.post(f"/api/sessions/{session.pk}/repeat/", {"dates": [_day(session, days=3).isoformat()]},
                               format="json").status_code == 404
    assert api_client.post(f"/api/sessions/{session.pk}/repeat/", {"dates": [_day(session, days=3).isoformat()]},
                           format="json").status_code in (401, 403)
    assert CanvassSession.objects.count() == 1


def test_an_edit_to_this_and_later_ones_changes_details_never_slots_or_bookings(host_api, session, postcode):
    created = host_api.post(f"/api/sessions/{session.pk}/repeat/",
                            {"weekly_until": _day(session, weeks=2).isoformat()}, format="json").json()
    second = CanvassSession.objects.get(pk=created[0]["id"])
    booking = book(second.slots.first(), proven=True)
    response = host_api.patch(f"/api/sessions/{second.pk}/", {"title": "Saturday doors, new route",
                                                               "apply_to": "later"}, format="json")
    assert response.status_code == 200, response.json()
    titles = dict(CanvassSession.objects.values_list("pk", "title"))
    assert titles[second.pk] == titles[created[1]["id"]] == "Saturday doors, new route"
    assert titles[session.pk] != "Saturday doors, new route"  # earlier ones keep theirs
    booking.refresh_from_db()
    assert booking.status == "confirmed" and booking.slot.session_id == second.pk
    only = host_api.patch(f"/api/sessions/{second.pk}/", {"title": "Just this one"}, format="json")
    assert only.status_code == 200
    assert CanvassSession.objects.get(pk=created[1]["id"]).title == "Saturday doors, new route"
