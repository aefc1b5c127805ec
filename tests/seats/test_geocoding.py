import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from seats.geocoding import (
    LocalDistrictGeocoder,
    LocalPostcodeGeocoder,
    PostcodesIoGeocoder,
    default_geocoders,
    postcode_locate,
)
from seats.importers import postcode_fast_normalise
from seats.postcodes import postcode_normalise
from tests.factories import PostcodeDistrictFactory, PostcodeFactory, SeatFactory

BATTERSEA = "E14000549"


@pytest.mark.parametrize(("raw", "canonical"), [
    ("sw111aa", "SW11 1AA"), ("SW11 1AA", "SW11 1AA"), ("  sw11   1aa ", "SW11 1AA"), ("YO901GA", "YO90 1GA"),
    ("m11ae", "M1 1AE"), ("ec1a1bb", "EC1A 1BB"), ("gir0aa", "GIR 0AA"),
])
def test_postcodes_are_normalised_to_the_canonical_spelling(raw, canonical):
    assert postcode_normalise(raw) == canonical


@pytest.mark.parametrize("raw", ["", "SW11", "SW11 1A", "NPT 0AD", "1SW 1AA", "SW11 1AAA", None])
def test_malformed_postcodes_are_refused(raw):
    with pytest.raises(InvalidInput) as caught:
        postcode_normalise(raw)
    assert caught.value.code == "invalid_postcode" and "postcode" in caught.value.fields


@given(st.one_of(st.text(alphabet="ABEGIMNRSWXYZ019 aq\t", max_size=10),
                 st.from_regex(r"\A[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}\Z")))
def test_the_importers_fast_normalisation_agrees_with_postcode_normalise(raw):
    try:
        expected = postcode_normalise(raw)
    except InvalidInput:
        expected = None
    assert postcode_fast_normalise(raw) == expected


@pytest.mark.django_db
def test_a_well_formed_but_unknown_postcode_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        postcode_locate("XX1 1XX", field="home_postcode")
    assert caught.value.code == "unknown_postcode"
    assert list(caught.value.fields) == ["home_postcode"]


@pytest.mark.django_db
def test_a_malformed_postcode_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        postcode_locate("not a postcode", field="home_postcode")
    assert (caught.value.code, list(caught.value.fields)) == ("invalid_postcode", ["home_postcode"])


@pytest.mark.django_db
def test_the_full_postcode_wins_then_the_district_centre_is_the_fallback():
    seat = SeatFactory(ons_code=BATTERSEA)
    PostcodeFactory(postcode="SW11 1AA", lat=51.4601, lng=-0.1633, seat=seat)
    PostcodeDistrictFactory(outcode="SW11", lat=51.46722, lng=-0.16376, seat=seat, postcode_count=2541)

    exact = postcode_locate("sw111aa")
    nearby = postcode_locate("SW11 9ZZ")

    assert (exact.postcode, exact.lat, exact.lng, exact.seat_id, exact.precision) == (
        "SW11 1AA", 51.4601, -0.1633, BATTERSEA, "postcode")
    assert (nearby.postcode, nearby.lat, nearby.lng, nearby.seat_id, nearby.precision) == (
        "SW11 9ZZ", 51.46722, -0.16376, BATTERSEA, "district")
    assert nearby.district == "SW11"


# --- postcodes.io against a real HTTP server ------------------------------------------------------

POSTCODES_IO = {
    "SW111AA": {"postcode": "SW11 1AA", "latitude": 51.4601, "longitude": -0.1633,
                "codes": {"parliamentary_constituency": BATTERSEA}},
    "SW111AB": {"postcode": "SW11 1AB", "latitude": 51.46, "longitude": -0.16,
                "codes": {"parliamentary_constituency": "E14001234"}},  # a 2024-boundary code we do not hold
}


_RELEASED = threading.Event()  # set when the fake server's test ends: a request it holds back is let go


class _PostcodesIo(BaseHTTPRequestHandler):
    def do_GET(self):
        postcode = self.path.rsplit("/", 1)[-1]
        if postcode == "SW111ZZ":  # no answer until the test is over: past any timeout the tests use
            _RELEASED.wait(timeout=60)
        if postcode == "SW111XX":
            return self._send(500, b"Internal Server Error", "text/plain")
        if postcode == "SW111YY":
            return self._send(200, b"<html>not json</html>", "text/html")
        if postcode in POSTCODES_IO:
            return self._send(200, json.dumps({"status": 200, "result": POSTCODES_IO[postcode]}).encode())
        return self._send(404, json.dumps({"status": 404, "error": "Postcode not found"}).encode())

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def postcodes_io():
    _RELEASED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PostcodesIo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    _RELEASED.set()
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_postcodes_io_answers_become_locations_with_our_seat(postcodes_io):
    SeatFactory(ons_code=BATTERSEA)
    geocoder = PostcodesIoGeocoder(postcodes_io, timeout=2.0)

    known = geocoder.locate("SW11 1AA")
    foreign_seat = geocoder.locate("SW11 1AB")

    assert (known.lat, known.lng, known.seat_id, known.precision) == (51.4601, -0.1633, BATTERSEA, "remote")
    assert (foreign_seat.lat, foreign_seat.seat_id) == (51.46, None)


@pytest.mark.django_db
@pytest.mark.parametrize("postcode", ["SW11 9AA", "SW11 1XX", "SW11 1YY", "SW11 1ZZ"],
                         ids=["not found", "server error", "not json", "timeout"])
def test_postcodes_io_failures_count_as_unknown(postcodes_io, postcode):
    assert PostcodesIoGeocoder(postcodes_io, timeout=0.2).locate(postcode) is None


@pytest.mark.django_db
def test_an_unreachable_postcodes_io_counts_as_unknown():
    assert PostcodesIoGeocoder("http://127.0.0.1:9/", timeout=0.2).locate("SW11 1AA") is None


@pytest.mark.django_db
def test_the_remote_lookup_sits_between_the_local_postcode_and_the_district(postcodes_io, settings):
    settings.POSTCODE_REMOTE_LOOKUP, settings.POSTCODE_REMOTE_URL = True, postcodes_io
    settings.POSTCODE_REMOTE_TIMEOUT = 0.2
    seat = SeatFactory(ons_code=BATTERSEA)
    PostcodeFactory(postcode="SW11 1AB", lat=1.0, lng=1.0, seat=seat)
    PostcodeDistrictFactory(outcode="SW11", lat=51.46722, lng=-0.16376, seat=seat)

    assert [type(g) for g in default_geocoders()] == [LocalPostcodeGeocoder, PostcodesIoGeocoder, LocalDistrictGeocoder]
    assert postcode_locate("SW11 1AB").precision == "postcode"  # local table first, even though the remote knows it
    assert postcode_locate("SW11 1AA").precision == "remote"
    assert postcode_locate("SW11 1XX").precision == "district"  # remote error: fall through to the district


@pytest.mark.django_db
def test_the_remote_lookup_is_off_by_default(settings):
    settings.POSTCODE_REMOTE_LOOKUP = False
    assert [type(g) for g in default_geocoders()] == [LocalPostcodeGeocoder, LocalDistrictGeocoder]
