"""The API answers what its OpenAPI schema says: every response of the main flows, errors included, has a
documented status code and validates against the documented body schema."""

import copy
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from sessions.models import Slot
from tests.api.conftest import booking_body
from tests.factories import book_via_api, texted_code

pytestmark = pytest.mark.django_db


def _json_schema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


class Schema:
    def __init__(self):
        self.document = SchemaGenerator().get_schema(request=None, public=True)
        self.components = _json_schema(copy.deepcopy(self.document["components"]))
        self.checked: set[tuple[str, str, str]] = set()

    def check(self, method: str, path: str, response) -> dict | list | None:
        """Assert `response` is documented for `method path` (a path template) and matches; return its JSON."""
        responses = self.document["paths"][path][method.lower()]["responses"]
        code = str(response.status_code)
        assert code in responses, f"{method} {path} answered {code}; documented: {sorted(responses)}"
        self.checked.add((method, path, code))
        content = responses[code].get("content")
        if not content:
            assert not response.content
            return None
        body = response.json()
        schema = {"allOf": [_json_schema(content["application/json"]["schema"])], "components": self.components}
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {path} {code}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        return body


@pytest.fixture(scope="module")
def schema():
    return Schema()


def _future(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_the_host_flow_matches_the_schema(schema, api, host_api, other_host_api, postcode):
    check = schema.check
    signup = api.post("/api/auth/signup/", {"username": "newhost", "password": "a-long-password-9",
                                            "email": "new@example.org"}, format="json")
    check("POST", "/api/auth/signup/", signup)
    check("POST", "/api/auth/signup/", api.post("/api/auth/signup/", {"username": "newhost"}, format="json"))
    check("POST", "/api/auth/token/", api.post("/api/auth/token/", {"username": "newhost",
                                                                    "password": "a-long-password-9"}, format="json"))
    check("POST", "/api/auth/token/", api.post("/api/auth/token/", {"username": "newhost", "password": "wrong"},
                                               format="json"))

    room = check("POST", "/api/meeting-points/", host_api.post("/api/meeting-points/", {
        "name": "Aisha's front room", "address": "27 Psalter Lane", "postcode": "S10 1AA", "capacity": 12,
    }, format="json"))
    check("POST", "/api/meeting-points/", host_api.post("/api/meeting-points/", {"name": "X", "address": "Y",
                                                         "postcode": "XX1 1XX", "capacity": 5}, format="json"))
    check("POST", "/api/meeting-points/", api.post("/api/meeting-points/", {}, format="json"))
    check("GET", "/api/meeting-points/", host_api.get("/api/meeting-points/"))
    check("GET", "/api/meeting-points/", host_api.get("/api/meeting-points/", {"page": 9}))
    check("GET", "/api/meeting-points/{id}/", host_api.get(f"/api/meeting-points/{room['id']}/"))
    check("GET", "/api/meeting-points/{id}/", other_host_api.get(f"/api/meeting-points/{room['id']}/"))
    check("PATCH", "/api/meeting-points/{id}/", host_api.patch(f"/api/meeting-points/{room['id']}/",
                                                               {"capacity": 14}, format="json"))

    body = {"meeting_point": room["id"], "title": "Saturday doors",
            "slots": [{"starts_at": _future(24), "ends_at": _future(26), "capacity": 2, "turf": "Psalter Lane"},
                      {"starts_at": _future(27), "ends_at": _future(29), "capacity": 2}]}
    session = check("POST", "/api/sessions/", host_api.post("/api/sessions/", body, format="json"))
    check("POST", "/api/sessions/", host_api.post("/api/sessions/", {**body, "slots": []}, format="json"))
    check("POST", "/api/sessions/", other_host_api.post("/api/sessions/", body, format="json"))
    check("GET", "/api/sessions/", api.get("/api/sessions/", {"near": "S10 1AA"}))
    check("GET", "/api/sessions/", api.get("/api/sessions/"))
    check("GET", "/api/sessions/", host_api.get("/api/sessions/", {"mine": "true"}))
    check("GET", "/api/sessions/", api.get("/api/sessions/", {"mine": "true"}))
    check("GET", "/api/sessions/", api.get("/api/sessions/", {"near": "XX1 1XX"}))
    check("GET", "/api/sessions/{id}/", api.get(f"/api/sessions/{session['id']}/"))
    check("GET", "/api/sessions/{id}/", host_api.get(f"/api/sessions/{session['id']}/"))
    check("GET", "/api/sessions/{id}/", api.get("/api/sessions/999999/"))
    check("PATCH", "/api/sessions/{id}/", host_api.patch(f"/api/sessions/{session['id']}/", {"title": "Sunday doors"},
                                                         format="json"))
    check("PATCH", "/api/sessions/{id}/", other_host_api.patch(f"/api/sessions/{session['id']}/", {"title": "Mine"},
                                                               format="json"))
    slot_id = session["slots"][0]["id"]
    check("PATCH", "/api/slots/{id}/", host_api.patch(f"/api/slots/{slot_id}/", {"capacity": 3}, format="json"))
    check("PATCH", "/api/slots/{id}/", host_api.patch(f"/api/slots/{slot_id}/", {"capacity": 0}, format="json"))

    asked = check("POST", "/api/slots/{slot_id}/bookings/", api.post(f"/api/slots/{slot_id}/bookings/",
                                                                     booking_body(), format="json"))
    verify = "/api/challenges/{token}/verify/"
    check("POST", verify, api.post(f"/api/challenges/{asked['challenge']}/verify/", {"code": "12"}, format="json"))
    check("POST", verify, api.post("/api/challenges/nope/verify/", {"code": "123456"}, format="json"))
    check("POST", "/api/challenges/{token}/resend/", api.post(f"/api/challenges/{asked['challenge']}/resend/"))
    check("POST", "/api/challenges/{token}/resend/", api.post("/api/challenges/nope/resend/"))
    booked = check("POST", verify, api.post(f"/api/challenges/{asked['challenge']}/verify/",
                                            {"code": texted_code(asked["challenge"])}, format="json"))
    check("POST", verify, api.post(f"/api/challenges/{asked['challenge']}/verify/",
                                   {"code": texted_code(asked["challenge"])}, format="json"))  # used already
    check("POST", "/api/slots/{slot_id}/bookings/", api.post(f"/api/slots/{slot_id}/bookings/", booking_body(),
                                                             format="json"))
    check("POST", "/api/slots/{slot_id}/bookings/", api.post(f"/api/slots/{slot_id}/bookings/",
                                                             booking_body(phone="12"), format="json"))
    check("POST", "/api/slots/{slot_id}/bookings/", api.post("/api/slots/999999/bookings/", booking_body(),
                                                             format="json"))
    details = "/api/bookings/{token}/details/"
    check("POST", details, api.post(f"/api/bookings/{booked['manage_token']}/details/", {"name": "Ann V"},
                                    format="json"))
    check("POST", details, api.post(f"/api/bookings/{booked['manage_token']}/details/", {"postcode": "nowhere"},
                                    format="json"))
    check("POST", details, api.post("/api/bookings/nope/details/", {"name": "X"}, format="json"))
    overlapping = session["slots"][1]["id"]
    check("PATCH", "/api/sessions/{id}/", host_api.patch(f"/api/sessions/{session['id']}/", {"add_slots": [
        {"starts_at": _future(25), "ends_at": _future(27), "capacity": 2}]}, format="json"))
    clash = [s["id"] for s in host_api.get(f"/api/sessions/{session['id']}/").json()["slots"]
             if s["id"] not in (slot_id, overlapping)]
    check("POST", "/api/slots/{slot_id}/bookings/", api.post(f"/api/slots/{clash[0]}/bookings/", booking_body(),
                                                             format="json"))
    roster = f"/api/sessions/{session['id']}/bookings/"
    check("GET", "/api/sessions/{session_id}/bookings/", host_api.get(roster))
    check("GET", "/api/sessions/{session_id}/bookings/", host_api.get(roster, {"status": "nope"}))
    check("GET", "/api/sessions/{session_id}/bookings/", other_host_api.get(roster))
    check("GET", "/api/sessions/{session_id}/bookings/", api.get(roster))
    attendance = "/api/sessions/{session_id}/bookings/{booking_id}/attendance/"
    check("POST", attendance, host_api.post(f"{roster}{booked['id']}/attendance/", {"attended": True}, format="json"))
    check("POST", attendance, host_api.post(f"{roster}{booked['id']}/attendance/", {}, format="json"))
    check("POST", attendance, other_host_api.post(f"{roster}{booked['id']}/attendance/", {"attended": True},
                                                  format="json"))
    approve = "/api/sessions/{session_id}/bookings/{booking_id}/approve/"
    refuse = "/api/sessions/{session_id}/bookings/{booking_id}/refuse/"
    check("POST", approve, host_api.post(f"{roster}{booked['id']}/approve/"))  # nothing to approve: 409
    check("POST", approve, other_host_api.post(f"{roster}{booked['id']}/approve/"))
    check("POST", approve, api.post(f"{roster}{booked['id']}/approve/"))
    check("PATCH", "/api/sessions/{id}/", host_api.patch(f"/api/sessions/{session['id']}/",
                                                         {"requires_approval": True}, format="json"))
    waiting = book_via_api(api, Slot.objects.get(pk=session["slots"][1]["id"]), phone="07400 900001")
    assert waiting["approval"] == "pending" and waiting["address"] is None
    check("POST", approve, host_api.post(f"{roster}{waiting['id']}/approve/"))
    other = book_via_api(api, Slot.objects.get(pk=session["slots"][1]["id"]), phone="07400 900002")
    check("POST", refuse, host_api.post(f"{roster}{other['id']}/refuse/"))
    check("POST", refuse, other_host_api.post(f"{roster}{other['id']}/refuse/"))
    check("POST", refuse, host_api.post(f"{roster}{waiting['id']}/refuse/"))  # approved already: 409
    Slot.objects.filter(pk=slot_id).update(starts_at=timezone.now() - timedelta(minutes=5))
    check("POST", attendance, host_api.post(f"{roster}{booked['id']}/attendance/", {"attended": False}, format="json"))
    Slot.objects.filter(pk=slot_id).update(starts_at=timezone.now() + timedelta(hours=24))
    token = booked["manage_token"]
    check("GET", "/api/bookings/{token}/", api.get(f"/api/bookings/{token}/"))
    check("GET", "/api/bookings/{token}/", api.get("/api/bookings/not-a-token/"))
    check("POST", "/api/bookings/{token}/prove/", api.post(f"/api/bookings/{token}/prove/"))
    check("POST", "/api/bookings/{token}/prove/", api.post("/api/bookings/not-a-token/prove/"))
    check("POST", "/api/bookings/{token}/cancel/", api.post(f"/api/bookings/{token}/cancel/"))
    check("POST", "/api/sessions/{id}/cancel/", host_api.post(f"/api/sessions/{session['id']}/cancel/"))
    check("POST", "/api/sessions/{id}/cancel/", api.post(f"/api/sessions/{session['id']}/cancel/"))


def test_the_seats_volunteer_and_coordinator_flows_match_the_schema(schema, api, host_api, coordinator_api, postcode):
    check = schema.check
    code = postcode.seat_id
    check("GET", "/api/seats/", api.get("/api/seats/", {"near": "S10 1AA"}))
    check("GET", "/api/seats/", api.get("/api/seats/", {"near": "nowhere"}))
    check("GET", "/api/seats/{ons_code}/", api.get(f"/api/seats/{code}/"))
    check("GET", "/api/seats/{ons_code}/", api.get("/api/seats/E14999999/"))
    check("PATCH", "/api/seats/{ons_code}/priority/", coordinator_api.patch(f"/api/seats/{code}/priority/",
                                                                           {"priority_override": None}, format="json"))
    check("PATCH", "/api/seats/{ons_code}/priority/", coordinator_api.patch(f"/api/seats/{code}/priority/",
                                                                           {"priority_override": 9}, format="json"))
    check("PATCH", "/api/seats/{ons_code}/priority/", host_api.patch(f"/api/seats/{code}/priority/",
                                                                    {"priority_override": 2}, format="json"))

    asked = check("POST", "/api/volunteers/", api.post("/api/volunteers/", {
        "name": "Sam", "mobile": "07400 765432", "postcode": "S10 1AA", "max_travel_km": 10, "consent_sms": True,
        "availability": [{"starts_at": _future(20), "ends_at": _future(30)}],
    }, format="json"))
    volunteer = check("POST", "/api/challenges/{token}/verify/", api.post(
        f"/api/challenges/{asked['challenge']}/verify/", {"code": texted_code(asked["challenge"])}, format="json"))
    check("POST", "/api/volunteers/", api.post("/api/volunteers/", {"name": "Sam"}, format="json"))
    check("GET", "/api/volunteers/{token}/suggestions/", api.get(f"/api/volunteers/{volunteer['token']}/suggestions/"))
    check("GET", "/api/volunteers/{token}/suggestions/", api.get("/api/volunteers/nope/suggestions/"))
    check("GET", "/api/volunteers/{token}/", api.get(f"/api/volunteers/{volunteer['token']}/"))
    check("GET", "/api/volunteers/{token}/", api.get("/api/volunteers/nope/"))
    check("PATCH", "/api/volunteers/{token}/", api.patch(f"/api/volunteers/{volunteer['token']}/", {
        "availability": [{"starts_at": _future(22), "ends_at": _future(26)}], "postcode": "S10 1AA"}, format="json"))
    check("PATCH", "/api/volunteers/{token}/", api.patch(f"/api/volunteers/{volunteer['token']}/",
                                                         {"availability": []}, format="json"))
    check("POST", "/api/volunteers/{token}/stop/", api.post(f"/api/volunteers/{volunteer['token']}/stop/"))
    check("POST", "/api/volunteers/{token}/stop/", api.post("/api/volunteers/nope/stop/"))

    check("GET", "/api/dispatch/coverage/", coordinator_api.get("/api/dispatch/coverage/"))
    check("GET", "/api/dispatch/coverage/", host_api.get("/api/dispatch/coverage/"))
    check("GET", "/api/dispatch/coverage/", api.get("/api/dispatch/coverage/"))
    check("POST", "/api/dispatch/overflow/", coordinator_api.post("/api/dispatch/overflow/",
                                                                 {"seat": code, "dry_run": True}, format="json"))
    check("POST", "/api/dispatch/overflow/", coordinator_api.post("/api/dispatch/overflow/", {}, format="json"))
    check("POST", "/api/dispatch/overflow/", coordinator_api.post("/api/dispatch/overflow/", {"session": 999999},
                                                                 format="json"))
    run = check("POST", "/api/dispatch/runs/", coordinator_api.post("/api/dispatch/runs/", {
        "date_from": _future(1), "date_to": _future(48)}, format="json"))
    check("GET", "/api/dispatch/runs/{run_id}/", coordinator_api.get(f"/api/dispatch/runs/{run['id']}/"))
    check("GET", "/api/dispatch/runs/{run_id}/", coordinator_api.get("/api/dispatch/runs/999999/"))
    check("POST", "/api/dispatch/runs/{run_id}/commit/", coordinator_api.post(f"/api/dispatch/runs/{run['id']}/commit/"))
    check("GET", "/api/sms/messages/", coordinator_api.get("/api/sms/messages/", {"status": "failed"}))
    check("GET", "/api/sms/messages/", host_api.get("/api/sms/messages/"))


def test_the_schema_documents_the_error_shape_on_every_operation(schema):
    for path, operations in schema.document["paths"].items():
        for method, operation in operations.items():
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert errors, f"{method.upper()} {path} documents no error response"
            for code in errors:
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, code)
