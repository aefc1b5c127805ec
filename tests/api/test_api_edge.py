"""The edge of /api/ and /twilio/: what the schema fuzzer found as 500s or silent acceptance, each a clear 4xx in
the one error shape (core/middleware.py, core/parsers.py, core/pagination.py, core/serializers.py)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import SeatFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()["error"]
    assert set(body) == {"code", "message", "fields"}
    if code:
        assert body["code"] == code, body
    return body


def test_a_nul_in_a_query_string_is_a_400_naming_the_parameter(api):
    body = _error(api.get("/api/sessions/", {"near": "S10\x001AA"}), 400, "nul_character")
    assert "near" in body["fields"]
    _error(api.get("/api/sessions/42/bookings/", {"status": "a\x00"}), 400, "nul_character")


def test_a_nul_in_a_webhook_form_field_is_a_400_naming_the_field(client):
    body = _error(client.post("/twilio/status/", {"MessageSid": "SM\x001", "MessageStatus": "sent"}), 400,
                  "nul_character")
    assert "MessageSid" in body["fields"]


def test_a_nul_in_a_json_body_is_a_400_naming_the_field(host_api, meeting_point):
    body = _error(host_api.patch(f"/api/meeting-points/{meeting_point.id}/", {"name": "Front\x00room"},
                                 format="json"), 400, "nul_character")
    assert "name" in body["fields"]


def test_very_deep_json_is_a_400_not_a_recursion_error(api):
    for depth in (40, 100_000):
        response = api.generic("POST", "/api/auth/token/", "[" * depth + "]" * depth, content_type="application/json")
        _error(response, 400, "too_deep")


def test_a_body_over_the_size_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    _error(api.generic("POST", "/api/auth/token/", '{"username": "' + "x" * 2000 + '"}',
                       content_type="application/json"), 413, "too_large")
    _error(Client().post("/twilio/inbound/", {"Body": "x" * 2000}), 413, "too_large")


def test_djangos_own_errors_under_the_api_are_json(api, settings):
    _error(api.get("/api/no-such-thing/"), 404, "not_found")
    _error(api.get("/twilio/status/"), 405, "method_not_allowed")
    _error(api.get("/api/seats/", HTTP_HOST="evil.example"), 400, "bad_request")  # DisallowedHost
    _error(api.post("/api/auth/token/", "username=a", content_type="application/x-www-form-urlencoded"), 415)


@pytest.mark.parametrize("query", [{"page_size": "-1"}, {"page_size": "null"}, {"page_size": "1000"},
                                   {"page": "0"}, {"page": "99999999999999999999"}, {"page_size": ""}])
def test_bad_paging_is_a_400_naming_the_parameter(api, seat, query):
    body = _error(api.get("/api/seats/", query), 400)
    assert set(body["fields"]) == set(query)


@pytest.mark.parametrize("query", [{"limit": "-5"}, {"limit": "0"}, {"limit": "101"}, {"offset": "-1"},
                                   {"offset": "10001"}, {"offset": "1e3"}])
def test_bad_limit_or_offset_is_a_400(api, query):
    body = _error(api.get("/api/sessions/", query), 400, "invalid_paging")
    assert set(body["fields"]) == set(query)


def test_an_empty_filter_is_a_400_not_ignored(coordinator_api):
    body = _error(coordinator_api.get("/api/dispatch/coverage/", {"date_to": ""}), 400)
    assert "date_to" in body["fields"]


def test_unknown_fields_in_a_body_are_a_400_naming_them(host_api, meeting_point, slot):
    body = _error(host_api.patch(f"/api/slots/{slot.id}/", {"capcity": 4}, format="json"), 400)
    assert body["fields"] == {"capcity": ["Unknown field."]}
    body = _error(host_api.patch(f"/api/meeting-points/{meeting_point.id}/", {"nmae": "X", "lat": 1}, format="json"),
                  400)
    assert set(body["fields"]) == {"nmae", "lat"}  # lat is read-only: not an input either


def test_the_seats_list_applies_its_filters(api, seat, postcode):
    SeatFactory(ons_code="E14000001", name="Elsewhere North", region="London", priority=4)
    SeatFactory(ons_code="E14000002", name="Elsewhere South", region="London", priority=2)
    names = lambda response: [row["name"] for row in response.json()["results"]]  # noqa: E731
    assert names(api.get("/api/seats/", {"max_priority": 2})) == ["Sheffield, Hallam", "Elsewhere South"]
    assert names(api.get("/api/seats/", {"q": "elsewhere", "region": "london"})) == ["Elsewhere South",
                                                                                      "Elsewhere North"]
    assert set(names(api.get("/api/seats/", {"near": "S10 1AA", "region": "London"}))) == {"Elsewhere North",
                                                                                           "Elsewhere South"}
    _error(api.get("/api/seats/", {"max_priority": 9}), 400)


def test_a_session_holds_at_most_max_slots_per_session(host_api, meeting_point, settings):
    settings.MAX_SLOTS_PER_SESSION = 3
    start = timezone.now() + timedelta(days=1)
    slot = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(), "capacity": 2}
    session = host_api.post("/api/sessions/", {"meeting_point": meeting_point.id, "title": "Doors",
                                               "slots": [slot, slot]}, format="json")
    assert session.status_code == 201, session.content
    url = f"/api/sessions/{session.json()['id']}/"
    assert host_api.patch(url, {"add_slots": [slot]}, format="json").status_code == 200
    body = _error(host_api.patch(url, {"add_slots": [slot]}, format="json"), 400, "too_many_slots")
    assert "add_slots" in body["fields"]


def test_started_slots_are_not_offered(api, meeting_point):
    started = SlotFactory(session__meeting_point=meeting_point, session__starts_at=timezone.now() - timedelta(hours=1))
    later = SlotFactory(session=started.session, starts_at=timezone.now() + timedelta(hours=2),
                        ends_at=timezone.now() + timedelta(hours=3))
    detail = api.get(f"/api/sessions/{started.session_id}/").json()
    assert [slot["id"] for slot in detail["slots"]] == [later.id]
    found = api.get("/api/sessions/", {"near": "S10 1AA"}).json()["results"]
    assert [slot["id"] for row in found for slot in row["slots"]] == [later.id]
