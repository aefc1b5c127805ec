import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.dispatch import factories as f
from tests.factories import district, texted_code
from volunteers.models import AvailabilityWindow, Volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheffield():
    hallam = f.seat("E14000922", lat=53.37, lng=-1.55, priority=1, name="Sheffield, Hallam")
    central = f.seat("E14000919", lat=53.38, lng=-1.47, priority=3, name="Sheffield Central")
    f.postcode("S10 2TN", lat=53.375, lng=-1.52, seat_code=hallam.pk)
    return hallam, central


def _signup(client, **overrides):
    body = {"name": "Jo", "mobile": "07400 123456", "postcode": "s10 2tn", "max_travel_km": 10,
            "availability": [{"starts_at": f.day_at(9).isoformat(), "ends_at": f.day_at(16).isoformat()}]}
    body.update(overrides)
    return client.post("/api/volunteers/", body, format="json")


def _signed_up(client, **overrides) -> dict:
    asked = _signup(client, **overrides)
    assert asked.status_code == 202, asked.json()
    token = asked.json()["challenge"]
    proven = client.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert proven.status_code == 200, proven.json()
    return proven.json()


def test_signup_texts_a_code_and_once_proven_returns_a_private_token_with_the_availability(sheffield):
    client = APIClient()
    asked = _signup(client)
    assert asked.status_code == 202 and set(asked.json()) == {"challenge", "phone", "expires_at"}
    volunteer = Volunteer.objects.get(phone="+447400123456")
    assert volunteer.phone_verified_at is None and volunteer.token not in asked.content.decode()
    assert AvailabilityWindow.objects.filter(volunteer=volunteer).count() == 1
    token = asked.json()["challenge"]
    body = client.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json").json()
    volunteer.refresh_from_db()
    assert body["token"] == volunteer.token and volunteer.phone_verified_at is not None
    assert volunteer.max_travel_km == 10 and volunteer.postcode == "S10 2TN"
    assert len(body["availability"]) == 1


def test_same_mobile_signing_up_again_changes_nothing_until_its_code_is_typed(sheffield):
    client = APIClient()
    first = _signed_up(client)
    windows = [{"starts_at": f.day_at(9, days=4).isoformat(), "ends_at": f.day_at(12, days=4).isoformat()},
               {"starts_at": f.day_at(14, days=4).isoformat(), "ends_at": f.day_at(18, days=4).isoformat()}]
    again = _signup(client, mobile="+44 7400 123456", name="Jo Bloggs", max_travel_km=25, availability=windows)
    assert again.status_code == 202 and first["token"] not in again.content.decode()
    volunteer = Volunteer.objects.get()
    assert (volunteer.name, volunteer.max_travel_km, volunteer.token) == ("Jo", 10, first["token"])
    assert AvailabilityWindow.objects.filter(volunteer=volunteer).count() == 1
    token = again.json()["challenge"]
    second = client.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json").json()
    volunteer.refresh_from_db()
    assert volunteer.name == "Jo Bloggs" and volunteer.max_travel_km == 25
    assert AvailabilityWindow.objects.filter(volunteer=volunteer).count() == 2
    assert second["token"] != first["token"]  # the old link stops working
    assert client.get(f"/api/volunteers/{first['token']}/suggestions/").status_code == 404


@pytest.mark.parametrize(("overrides", "field"), [
    ({"mobile": "not a phone"}, "mobile"),  # named as sent
    ({"mobile": "020 7946 0000"}, "mobile"),
    ({"mobile": None}, "mobile"),
    ({"postcode": "ZZ99 9ZZ"}, "postcode"),
    ({"max_travel_km": 0}, "max_travel_km"),
    ({"max_travel_km": 500}, "max_travel_km"),
    ({"availability": []}, "availability"),
    ({"availability": [{"starts_at": "2030-01-01T12:00:00Z", "ends_at": "2030-01-01T10:00:00Z"}]},
     "availability.0.ends_at"),
    ({"availability": [{"starts_at": "2001-01-01T10:00:00Z", "ends_at": "2001-01-01T12:00:00Z"}]},
     "availability.0.ends_at"),
    ({"availability": [{"starts_at": "soon"}]}, "availability.0.starts_at"),
])
def test_bad_signup_is_a_400_naming_the_field_and_writes_nothing(sheffield, overrides, field):
    body = {k: v for k, v in overrides.items() if v is not None}
    client = APIClient()
    response = _signup(client, **body) if overrides.get("mobile", "") is not None else client.post(
        "/api/volunteers/", {"name": "Jo", "postcode": "S10 2TN", "max_travel_km": 5,
                             "availability": [{"starts_at": f.day_at(9).isoformat(), "ends_at": f.day_at(16).isoformat()}]},
        format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Volunteer.objects.count() == 0


def test_suggestions_rank_by_priority_travel_and_shortage_with_a_reason(sheffield):
    hallam, central = sheffield
    in_hallam = f.session(hallam, lat=53.37, lng=-1.53, slots=[(f.day_at(10), f.day_at(12), 8)]).slots.get()
    in_central = f.session(central, lat=53.376, lng=-1.515, slots=[(f.day_at(10), f.day_at(12), 8)]).slots.get()
    f.fill(in_hallam, near=hallam, n=2)
    token = _signed_up(APIClient())["token"]
    rows = APIClient().get(f"/api/volunteers/{token}/suggestions/").json()
    assert [r["slot_id"] for r in rows] == [in_hallam.pk, in_central.pk]  # priority 1 beats a nearer priority 3
    assert rows[0]["reason"].startswith("Sheffield, Hallam, ")
    assert rows[0]["reason"].endswith("priority 1, needs 6 more")
    assert rows[0]["places_left"] == 6


def test_suggestions_respect_availability_travel_and_free_places(sheffield):
    hallam, central = sheffield
    f.session(hallam, slots=[(f.day_at(17), f.day_at(19), 4)])  # outside the 9–16 window
    far = f.seat("E14000001", lat=53.8, lng=-1.55, priority=1)
    f.session(far, slots=[(f.day_at(10), f.day_at(12), 4)])  # ~47 km away
    full = f.session(central, slots=[(f.day_at(10), f.day_at(12), 2)]).slots.get()
    f.fill(full, near=central)
    token = _signed_up(APIClient())["token"]
    assert APIClient().get(f"/api/volunteers/{token}/suggestions/").json() == []
    assert APIClient().get(f"/api/volunteers/{token}/suggestions/?limit=0").status_code == 400


def test_suggestions_for_a_party_leave_out_slots_without_room_for_all_of_it(sheffield):
    hallam, central = sheffield
    roomy = f.session(central, lat=53.376, lng=-1.515, slots=[(f.day_at(10), f.day_at(12), 8)]).slots.get()
    tight = f.session(hallam, lat=53.37, lng=-1.53, slots=[(f.day_at(10), f.day_at(12), 4)]).slots.get()
    f.fill(tight, near=hallam, n=2)  # two places left: one person fits, a party of three does not
    alone = _signed_up(APIClient())["token"]
    assert [r["slot_id"] for r in APIClient().get(f"/api/volunteers/{alone}/suggestions/").json()] == [
        tight.pk, roomy.pk]
    party = _signed_up(APIClient(), mobile="07400 654321", party_size=3)["token"]
    assert [r["slot_id"] for r in APIClient().get(f"/api/volunteers/{party}/suggestions/").json()] == [roomy.pk]


def test_a_district_will_do_for_the_postcode(sheffield):
    hallam, _ = sheffield
    district("S10", hallam, lat=53.38, lng=-1.50)
    body = _signed_up(APIClient(), postcode="s10")
    volunteer = Volunteer.objects.get()
    assert (body["postcode"], volunteer.postcode, volunteer.seat_id, volunteer.lat) == ("S10", "S10", hallam.pk, 53.38)
    unknown = _signup(APIClient(), mobile="07400 654321", postcode="ZZ9")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_district"
    assert "postcode" in unknown.json()["error"]["fields"]


def test_the_private_token_reads_changes_and_stops_the_sign_up(sheffield):
    client = APIClient()
    token = _signed_up(client)["token"]
    assert len(client.get(f"/api/volunteers/{token}/").json()["availability"]) == 1
    windows = [{"starts_at": f.day_at(17, days=5).isoformat(), "ends_at": f.day_at(21, days=5).isoformat()}]
    changed = client.patch(f"/api/volunteers/{token}/", {"availability": windows, "max_travel_km": 25},
                           format="json")
    assert changed.status_code == 200 and changed.json()["max_travel_km"] == 25
    assert [timezone.localtime(w.starts_at).hour for w in AvailabilityWindow.objects.all()] == [17]
    assert len(changed.json()["availability"]) == 1
    refused = client.patch(f"/api/volunteers/{token}/", {"availability": []}, format="json")
    assert refused.status_code == 400 and "availability" in refused.json()["error"]["fields"]
    assert AvailabilityWindow.objects.count() == 1  # nothing written on error
    stopped = client.post(f"/api/volunteers/{token}/stop/")
    assert stopped.status_code == 200 and stopped.json()["availability"] == []
    assert client.post(f"/api/volunteers/{token}/stop/").status_code == 200  # again: the same
    assert not AvailabilityWindow.objects.exists()
    assert client.get(f"/api/volunteers/{token}/suggestions/").json() == []
    assert client.get("/api/volunteers/not-a-token/").status_code == 404
    assert client.post("/api/volunteers/not-a-token/stop/").status_code == 404


def test_an_unproven_sign_up_has_no_private_token_yet(sheffield):
    client = APIClient()
    _signup(client)
    volunteer = Volunteer.objects.get()
    assert client.get(f"/api/volunteers/{volunteer.token}/").status_code == 404


def test_a_signup_wrong_everywhere_names_every_field_at_once(sheffield):
    response = APIClient().post("/api/volunteers/", {
        "name": "", "postcode": "ZZ99 9ZZ", "max_travel_km": 500,
        "availability": [{"starts_at": "2030-01-01T12:00:00Z", "ends_at": "2030-01-01T10:00:00Z"}]}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"name", "mobile", "postcode", "max_travel_km"} <= fields.keys()  # no phone, unknown postcode too
    assert Volunteer.objects.count() == 0


def test_a_signup_with_only_its_windows_wrong_names_them_and_the_missing_phone(sheffield):
    response = APIClient().post("/api/volunteers/", {
        "name": "Jo", "postcode": "S10 2TN", "max_travel_km": 5,
        "availability": [{"starts_at": "2030-01-01T12:00:00Z", "ends_at": "2030-01-01T10:00:00Z"}]}, format="json")
    assert response.status_code == 400
    assert {"mobile", "availability.0.ends_at"} <= response.json()["error"]["fields"].keys()
    assert response.json()["error"]["code"] in {"phone_required", "date_order"}


def test_a_date_time_out_of_range_beside_an_unknown_postcode_keeps_a_code_the_schema_lists(sheffield):
    asked = _signup(APIClient(), postcode="ZZ9 9ZZ",
                    availability=[{"starts_at": "0001-01-01T00:00:00+01:00", "ends_at": f.day_at(16).isoformat()}])
    assert asked.status_code == 400
    error = asked.json()["error"]
    assert error["code"] in ("date_out_of_range", "unknown_postcode"), error
    assert {"availability.0.starts_at", "postcode"} <= error["fields"].keys(), error
