import pytest

from seats.models import Seat
from tests.factories import PostcodeFactory, SeatFactory, UserFactory, seat_with_neighbour

pytestmark = pytest.mark.django_db


def test_seats_near_a_postcode_are_nearest_first(api):
    near = SeatFactory(name="Near", lat=53.38, lng=-1.50)
    far = SeatFactory(name="Far", lat=53.80, lng=-1.55)
    PostcodeFactory(postcode="S10 1AA", lat=53.381, lng=-1.501, seat=near)
    response = api.get("/api/seats/", {"near": "s101aa"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ons_code"] for r in results[:2]] == [near.ons_code, far.ons_code]
    assert results[0]["distance_km"] < 1 < results[1]["distance_km"]
    for key in ("ons_code", "name", "distance_km", "priority", "winner", "runner_up", "majority", "majority_pct"):
        assert key in results[0]


def test_seat_detail_lists_neighbours(api):
    first, second = seat_with_neighbour()
    response = api.get(f"/api/seats/{first.ons_code}/")
    assert response.status_code == 200
    assert [n["ons_code"] for n in response.json()["neighbours"]] == [second.ons_code]


def test_unknown_postcode_is_a_clear_400(api):
    SeatFactory()
    response = api.get("/api/seats/", {"near": "XX1 1XX"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "unknown_postcode", "message": "Unknown postcode XX1 1XX.", "fields": {"near": ["Unknown postcode."]}
    }


def test_malformed_postcode_is_a_400(api):
    response = api.get("/api/seats/", {"near": "not a postcode"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_postcode"


def test_coordinator_overrides_priority_and_hosts_cannot(api):
    from tests.factories import token_for

    seat = SeatFactory(computed_priority=4, priority=4)
    host = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(host)}")
    assert api.patch(f"/api/seats/{seat.ons_code}/priority/", {"priority_override": 1}, format="json").status_code == 403
    coordinator = UserFactory(is_staff=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(coordinator)}")
    response = api.patch(f"/api/seats/{seat.ons_code}/priority/", {"priority_override": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["priority"] == 1
    # Setting the target flag alone keeps the override; clearing the override falls back to marginality + target.
    api.patch(f"/api/seats/{seat.ons_code}/priority/", {"is_target": True}, format="json")
    assert Seat.objects.get(pk=seat.pk).priority == 1
    api.patch(f"/api/seats/{seat.ons_code}/priority/", {"priority_override": None}, format="json")
    assert Seat.objects.get(pk=seat.pk).priority == 3
    bad = api.patch(f"/api/seats/{seat.ons_code}/priority/", {"priority_override": 9}, format="json")
    assert bad.status_code == 400 and "priority_override" in bad.json()["error"]["fields"]
