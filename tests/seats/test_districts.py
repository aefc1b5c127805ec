"""A postcode district ("SW11") wherever a volunteer says where they are; a front room still needs its full postcode."""

import re

import pytest

from core.errors import InvalidInput
from seats.geocoding import postcode_locate
from seats.importers import districts_from_postcodes
from seats.models import PostcodeDistrict
from seats.postcodes import district_normalise
from sessions.models import MeetingPoint
from tests.factories import PostcodeDistrictFactory, PostcodeFactory, SeatFactory, UserFactory

pytestmark = pytest.mark.django_db

BATTERSEA, TOOTING = "E14000549", "E14001000"


@pytest.fixture
def battersea():
    seat = SeatFactory(ons_code=BATTERSEA, name="Battersea")
    PostcodeDistrictFactory(outcode="SW11", lat=51.46722, lng=-0.16376, seat=seat, postcode_count=2541)
    PostcodeDistrictFactory(outcode="SW1A", lat=51.5014, lng=-0.1419, seat=seat, postcode_count=100)
    PostcodeDistrictFactory(outcode="B1", lat=52.4796, lng=-1.9026, seat=seat, postcode_count=900)
    PostcodeFactory(postcode="SW11 1AA", lat=51.4601, lng=-0.1633, seat=seat)
    return seat


@pytest.mark.parametrize(("raw", "district"), [("SW11", "SW11"), ("sw11", "SW11"), (" sw 11 ", "SW11"),
                                               ("SW1A", "SW1A"), ("b1", "B1")])
def test_a_district_alone_is_its_centre_and_main_seat(battersea, raw, district):
    location = postcode_locate(raw)
    row = PostcodeDistrict.objects.get(outcode=district)
    assert (location.postcode, location.lat, location.lng, location.seat_id, location.precision) == (
        district, row.lat, row.lng, BATTERSEA, "district")


def test_a_full_postcode_is_located_exactly_as_before(battersea):
    location = postcode_locate("sw111aa")
    assert (location.postcode, location.lat, location.precision) == ("SW11 1AA", 51.4601, "postcode")


def test_an_unknown_district_names_the_field(battersea):
    with pytest.raises(InvalidInput) as caught:
        postcode_locate("ZZ9", field="near")
    assert (caught.value.code, list(caught.value.fields)) == ("unknown_district", ["near"])


def test_where_an_exact_place_is_needed_a_district_is_refused_saying_so(battersea):
    with pytest.raises(InvalidInput) as caught:
        postcode_locate("SW11", exact=True)
    assert caught.value.code == "full_postcode_required" and "full postcode" in caught.value.message
    assert postcode_locate("SW11 1AA", exact=True).precision == "postcode"


@pytest.mark.parametrize("raw", ["", "SW", "11", "SW11 1", "SW111", None])
def test_only_a_district_shape_is_a_district(raw):
    assert district_normalise(raw) is None


def test_districts_missing_after_an_import_are_the_mean_of_their_postcodes():
    tooting, battersea = SeatFactory(ons_code=TOOTING), SeatFactory(ons_code=BATTERSEA)
    PostcodeFactory(postcode="SW17 0AA", lat=51.40, lng=-0.20, seat=tooting)
    PostcodeFactory(postcode="SW17 0AB", lat=51.44, lng=-0.10, seat=tooting)
    PostcodeFactory(postcode="SW17 0AD", lat=51.42, lng=-0.15, seat=battersea)
    PostcodeFactory(postcode="SW1 1AA", lat=51.50, lng=-0.14, seat=battersea)
    kept = PostcodeDistrictFactory(outcode="SW1", lat=51.49, lng=-0.13, seat=battersea, postcode_count=7)

    assert districts_from_postcodes() == 1
    sw17 = PostcodeDistrict.objects.get(outcode="SW17")
    assert (round(sw17.lat, 6), round(sw17.lng, 6), sw17.seat_id, sw17.postcode_count) == (51.42, -0.15, TOOTING, 3)
    assert PostcodeDistrict.objects.get(outcode="SW1").lat == kept.lat  # a district file's row is kept
    assert districts_from_postcodes() == 0


def test_the_search_api_takes_a_district(client, battersea):
    response = client.get("/api/sessions/", {"near": "sw11"})
    assert response.status_code == 200
    near = response.json()["near"]
    assert (near["postcode"], near["precision"]) == ("SW11", "district")
    assert client.get("/api/seats/", {"near": "SW11"}).status_code == 200
    unknown = client.get("/api/sessions/", {"near": "ZZ9"})
    assert unknown.status_code == 400 and "near" in unknown.json()["error"]["fields"]


def test_a_district_search_shows_no_more_than_a_full_postcode_search(client, battersea):
    """The answer names the district and its precision, never the centre's coordinates."""
    body = client.get("/api/sessions/", {"near": "SW11"}).content.decode()
    assert "51.46722" not in body and "-0.16376" not in body


def test_a_front_room_still_needs_its_full_postcode(client, battersea):
    host = UserFactory()
    client.force_login(host)
    response = client.post("/host/rooms/new/", {"name": "Room", "address": "1 Road", "postcode": "SW11",
                                                "capacity": "8"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_postcode_error"' in html
    assert re.search(r"full postcode", html) and not MeetingPoint.objects.filter(host=host).exists()
