from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import CanvassSession, MeetingPoint, Slot
from tests.factories import CanvassSessionFactory, MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _future(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def _session_body(meeting_point_id, **extra):
    return {
        "meeting_point": meeting_point_id,
        "title": "Saturday doors",
        "slots": [
            {"starts_at": _future(24), "ends_at": _future(26), "capacity": 8, "turf": "Odd numbers, Psalter Lane"},
            {"starts_at": _future(27), "ends_at": _future(29), "capacity": 6},
        ],
        **extra,
    }


def test_host_registers_a_meeting_point_geocoded_from_its_postcode(host_api, postcode):
    response = host_api.post("/api/meeting-points/", {
        "name": "Aisha's front room", "address": "27 Psalter Lane", "postcode": "s10 1aa", "capacity": 12,
        "accessibility_notes": "Step-free",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["postcode"] == "S10 1AA"
    assert body["seat"] == postcode.seat_id
    assert (body["lat"], body["lng"]) == (postcode.lat, postcode.lng)


def test_meeting_point_with_unknown_postcode_is_refused_and_nothing_is_written(host_api, seat):
    response = host_api.post("/api/meeting-points/", {"name": "X", "address": "Y", "postcode": "XX1 1XX",
                                                      "capacity": 5}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"postcode": ["Unknown postcode."]}
    assert MeetingPoint.objects.count() == 0


def test_hosts_see_and_edit_only_their_own_meeting_points(host_api, other_host_api, meeting_point):
    assert [m["id"] for m in host_api.get("/api/meeting-points/").json()["results"]] == [meeting_point.id]
    assert other_host_api.get("/api/meeting-points/").json()["results"] == []
    assert other_host_api.get(f"/api/meeting-points/{meeting_point.id}/").status_code == 404
    assert other_host_api.patch(f"/api/meeting-points/{meeting_point.id}/", {"name": "Mine now"},
                                format="json").status_code == 404
    response = host_api.patch(f"/api/meeting-points/{meeting_point.id}/", {"capacity": 20}, format="json")
    assert response.status_code == 200 and response.json()["capacity"] == 20


def test_a_host_closes_a_front_room_and_it_takes_no_new_sessions(host_api, postcode):
    created = host_api.post("/api/meeting-points/", {
        "name": "Spare room", "address": "3 Crookes Road", "postcode": "S10 1AA", "capacity": 12, "is_active": False,
    }, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["is_active"] is False
    refused = host_api.post("/api/sessions/", _session_body(created.json()["id"]), format="json")
    assert refused.status_code in (400, 409) and "meeting_point" in refused.json()["error"]["fields"]
    reopened = host_api.patch(f"/api/meeting-points/{created.json()['id']}/", {"is_active": True}, format="json")
    assert reopened.status_code == 200 and reopened.json()["is_active"] is True
    assert host_api.post("/api/sessions/", _session_body(created.json()["id"]), format="json").status_code == 201


@pytest.mark.parametrize("method,path", [
    ("get", "/api/sessions/{id}/"), ("patch", "/api/sessions/{id}/"), ("post", "/api/sessions/{id}/cancel/"),
    ("patch", "/api/slots/{id}/"), ("get", "/api/meeting-points/{id}/"), ("patch", "/api/meeting-points/{id}/"),
])
@pytest.mark.parametrize("bad_id", ["null,null", "false", "1.5", "-1", "99999999999999999999999"])
def test_an_id_that_is_not_a_number_or_too_big_is_a_json_404(host_api, meeting_point, method, path, bad_id):
    """Found by fuzzing the OpenAPI schema: these were 500s."""
    body = {"title": "Doors"} if path.startswith("/api/sessions/") else {"capacity": 3}  # valid, so the id decides
    response = getattr(host_api, method)(path.format(id=bad_id), body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_anonymous_users_cannot_manage_meeting_points_or_sessions(api, meeting_point):
    assert api.get("/api/meeting-points/").status_code == 401
    assert api.post("/api/sessions/", _session_body(meeting_point.id), format="json").status_code == 401


def test_host_publishes_a_session_with_slots_in_one_request(host_api, meeting_point):
    response = host_api.post("/api/sessions/", _session_body(meeting_point.id), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["seat"]["ons_code"] == meeting_point.seat_id  # defaults to the meeting point's seat
    assert [s["capacity"] for s in body["slots"]] == [8, 6]
    assert body["slots"][0]["turf"] == "Odd numbers, Psalter Lane"
    assert body["meeting_point"]["address"] == meeting_point.address
    session = CanvassSession.objects.get(pk=body["id"])
    assert session.status == "published" and session.slots.count() == 2


def test_a_host_cannot_put_a_session_in_another_seat(host_api, meeting_point):
    SeatFactory(ons_code="E14000919", name="Sheffield Central")
    response = host_api.post("/api/sessions/", _session_body(meeting_point.id, seat="e14000919"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "seat_not_choosable" and "seat" in response.json()["error"]["fields"]
    assert not CanvassSession.objects.exists()


def test_a_coordinator_can_put_a_session_in_another_seat(coordinator_api, meeting_point):
    other = SeatFactory(ons_code="E14000919", name="Sheffield Central")
    response = coordinator_api.post("/api/sessions/", _session_body(meeting_point.id, seat="e14000919"),
                                    format="json")
    assert response.status_code == 201
    assert response.json()["seat"]["ons_code"] == other.ons_code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(slots=[]), "slots"),
        (lambda b: b["slots"][0].update(ends_at=b["slots"][0]["starts_at"]), "slots.0.ends_at"),
        (lambda b: b["slots"][1].update(starts_at=_future(-2), ends_at=_future(-1)), "slots.1.starts_at"),
        (lambda b: b["slots"][0].update(capacity=0), "slots.0.capacity"),
        (lambda b: b["slots"][0].update(capacity=999), "slots.0.capacity"),
        (lambda b: b["slots"][0].update(starts_at="tomorrow"), "slots.0.starts_at"),
        (lambda b: b.update(seat="E99999999"), "seat"),
        (lambda b: b.pop("title"), "title"),
        (lambda b: b.update(meeting_point=999999), "meeting_point"),
    ],
)
def test_bad_session_input_names_the_field_and_writes_nothing(host_api, meeting_point, change, field):
    body = _session_body(meeting_point.id)
    change(body)
    response = host_api.post("/api/sessions/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert CanvassSession.objects.count() == 0 and Slot.objects.count() == 0


def test_a_date_time_outside_the_years_1_to_9999_in_utc_is_refused_with_its_own_code(host_api, meeting_point):
    """Well-formed RFC 3339 (the schema's date-time) but not representable once taken to UTC (found by the fuzz):
    a code the schema lists among the refusals of schema-valid requests, not a plain `invalid`."""
    body = _session_body(meeting_point.id)
    body["slots"][0].update(starts_at="0001-01-01T00:08:56+13:05", ends_at="2000-01-01T12:03:00Z")
    response = host_api.post("/api/sessions/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "date_out_of_range"
    assert "slots.0.starts_at" in response.json()["error"]["fields"]
    searched = host_api.get("/api/sessions/", {"date_to": "9999-12-31T23:00:00-13:00"})
    assert searched.status_code == 400 and searched.json()["error"]["code"] == "date_out_of_range"
    assert CanvassSession.objects.count() == 0


def test_host_cannot_post_a_session_at_someone_elses_meeting_point(other_host_api, meeting_point):
    response = other_host_api.post("/api/sessions/", _session_body(meeting_point.id), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"meeting_point": ["Not one of your meeting points."]}


def test_host_edits_and_adds_slots_but_others_get_404(host_api, other_host_api, meeting_point):
    session_id = host_api.post("/api/sessions/", _session_body(meeting_point.id), format="json").json()["id"]
    assert other_host_api.patch(f"/api/sessions/{session_id}/", {"title": "Hijack"}, format="json").status_code == 404
    response = host_api.patch(f"/api/sessions/{session_id}/", {
        "title": "Sunday doors", "add_slots": [{"starts_at": _future(48), "ends_at": _future(50), "capacity": 4}],
    }, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "Sunday doors"
    assert len(response.json()["slots"]) == 3
    assert CanvassSession.objects.get(pk=session_id).ends_at > timezone.now() + timedelta(hours=49)


def test_coordinator_can_edit_any_session(coordinator_api, host_api, meeting_point):
    session_id = host_api.post("/api/sessions/", _session_body(meeting_point.id), format="json").json()["id"]
    response = coordinator_api.patch(f"/api/sessions/{session_id}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200


def test_slot_capacity_cannot_drop_below_confirmed_bookings(host_api, other_host_api, slot):
    slot.confirmed_count = 2
    slot.save()
    assert other_host_api.patch(f"/api/slots/{slot.id}/", {"capacity": 5}, format="json").status_code == 404
    response = host_api.patch(f"/api/slots/{slot.id}/", {"capacity": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "capacity_below_confirmed"
    assert host_api.patch(f"/api/slots/{slot.id}/", {"capacity": 5}, format="json").json()["places_left"] == 3


def test_public_search_lists_nearest_upcoming_sessions_without_private_details(api, seat):
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    near = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.381, lng=-1.501)).session
    far = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.45, lng=-1.50)).session
    SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.39, lng=-1.50),
                session__status=CanvassSession.Status.CANCELLED)
    past = CanvassSessionFactory(meeting_point=MeetingPointFactory(seat=seat, lat=53.382, lng=-1.50),
                                 starts_at=timezone.now() - timedelta(hours=5))
    response = api.get("/api/sessions/", {"near": "S101AA"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [near.id, far.id]
    assert past.id not in [r["id"] for r in results]
    first = results[0]
    for key in ("id", "title", "distance_km", "seat", "postcode_district", "approximate_location", "slots"):
        assert key in first
    assert set(first["seat"]) == {"ons_code", "name", "priority"}
    assert set(first["slots"][0]) == {"id", "starts_at", "ends_at", "capacity", "places_left"}
    text = response.content.decode()
    assert "Test Street" not in text and "address" not in text and "host" not in text


def test_search_filters_by_radius_seat_and_dates(api, seat):
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    other_seat = SeatFactory()
    near = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.381, lng=-1.501)).session
    SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.60, lng=-1.50))  # ~24 km
    later = SlotFactory(session__meeting_point=MeetingPointFactory(seat=other_seat, lat=53.382, lng=-1.50),
                        session__starts_at=timezone.now() + timedelta(days=10)).session
    assert [r["id"] for r in api.get("/api/sessions/", {"near": "S10 1AA", "radius_km": 5}).json()["results"]] == [
        near.id, later.id]
    assert [r["id"] for r in api.get("/api/sessions/", {"near": "S10 1AA", "seat": other_seat.ons_code}
                                     ).json()["results"]] == [later.id]
    date_to = (timezone.now() + timedelta(days=5)).isoformat()
    assert later.id not in [r["id"] for r in api.get("/api/sessions/", {"near": "S10 1AA", "date_to": date_to}
                                                     ).json()["results"]]


def test_search_paginates_nearest_first(api, seat):
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    ids = [SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.38 + i * 0.001, lng=-1.50)).session.id
           for i in range(5)]
    first = api.get("/api/sessions/", {"near": "S10 1AA", "limit": 2}).json()
    assert [r["id"] for r in first["results"]] == ids[:2]
    second = api.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == ids[2:4]
    third = api.get(second["next"]).json()
    assert [r["id"] for r in third["results"]] == ids[4:] and third["next"] is None


@pytest.mark.parametrize("params", [{"near": "S10 1AA", "radius_km": "far"}, {"near": "S10 1AA", "date_from": "soon"},
                                    {"near": "S10 1AA", "radius_km": -3}])
def test_bad_search_parameters_are_400(api, postcode, params):
    response = api.get("/api/sessions/", params)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & {"radius_km", "date_from"}


def test_cancelled_session_is_hidden_from_the_public(api, host_api, meeting_point):
    session = SlotFactory(session__meeting_point=meeting_point).session
    host_api.post(f"/api/sessions/{session.id}/cancel/")
    assert api.get(f"/api/sessions/{session.id}/").status_code == 404
    assert host_api.get(f"/api/sessions/{session.id}/").json()["status"] == "cancelled"
    assert [s["id"] for s in host_api.get("/api/sessions/", {"mine": "true"}).json()["results"]] == [session.id]


def test_search_rows_have_exactly_the_public_session_shape(api, seat):
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, lat=53.381, lng=-1.501), capacity=4)
    SlotFactory(session=slot.session, starts_at=slot.ends_at, ends_at=slot.ends_at + timedelta(hours=1))
    slot.confirmed_count = 1
    slot.save()
    found = api.get("/api/sessions/", {"near": "S10 1AA"}).json()["results"][0]
    detail = api.get(f"/api/sessions/{slot.session_id}/").json()
    assert detail.pop("distance_km") is None
    assert found.pop("distance_km") < 0.2
    assert found == detail
    assert found["slots"][0]["places_left"] == 3
