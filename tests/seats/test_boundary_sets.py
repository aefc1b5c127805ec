"""The 2024 boundary set: the real seat import joins every reference file, priority comes from GE2024, the
postcode corrections apply, both sets live side by side and only the current one is searched."""

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from seats.geocoding import postcode_locate
from seats.importers import districts_import, postcodes_import, seats_import
from seats.models import BoundarySet, Postcode, Seat, SeatAdjacency, boundary_set_current
from seats.selectors import seats_that_matter_near
from tests.factories import PostcodeFactory
from web.coordinators import maps

pytestmark = pytest.mark.django_db

HENDON, HOLBORN, HALLAM_2024, HALLAM_2010 = "E14001279", "E14001290", "E14001468", "E14000922"
UNCHANGED = {"S14000021", "S14000027", "S14000045", "S14000048", "S14000051"}  # same code and boundaries in both


@pytest.fixture
def files_2024(shared_data: Path) -> dict[str, Path]:
    return {"results": shared_data / "elections" / "ge2024_summary.csv",
            "centroids": shared_data / "geo" / "constituency_centroids_2024set.csv",
            "adjacency": shared_data / "geo" / "constituency_adjacency_2024set.csv",
            "notional": shared_data / "elections" / "notional_ge2019_2024set_summary.csv"}


@pytest.fixture
def seats_2024(files_2024):
    return seats_import(**files_2024, boundary_set="2024")


def test_the_2024_import_joins_every_seat_neighbour_hexagon_and_boundary(seats_2024, shared_data, settings,
                                                                        tmp_path):
    settings.MAP_CACHE_DIR = tmp_path
    assert seats_2024.rejected == 0
    assert seats_2024.counts["seats_created"] == 650 and seats_2024.counts["notional_results"] == 650
    codes = set(Seat.objects.in_set("2024").values_list("pk", flat=True))
    assert len(codes) == 650 and set(Seat.objects.current().values_list("pk", flat=True)) == codes
    # every neighbour pair joins two seats (1,723 pairs, both directions); two island seats have none
    with (shared_data / "geo" / "constituency_adjacency_2024set.csv").open() as handle:
        pairs = {(row["ons_id_a"], row["ons_id_b"]) for row in csv.DictReader(handle)}
    assert {a for pair in pairs for a in pair} <= codes and seats_2024.counts["neighbour_pairs"] == len(pairs) == 1723
    assert SeatAdjacency.objects.count() == 2 * 1723
    assert set(Seat.objects.filter(adjacencies__isnull=True).values_list("name", flat=True)) == {
        "Na h-Eileanan an Iar", "Orkney and Shetland"}
    # every hexagon and every boundary of the 2024 map files is a seat, and each seat has one of each
    with (shared_data / "geo" / "uk-constituencies-2024.hexjson").open(encoding="utf-8") as handle:
        assert set(json.load(handle)["hexes"]) == codes
    boundaries = maps.map_shapes("boundaries", "2024")
    assert boundaries is not None and set(boundaries.paths) == codes and all(boundaries.paths.values())
    assert set(maps.map_shapes("hex", "2024").paths) == codes
    # names come with their accents (the HoC copy lost them), centres from the postcode-weighted centroids
    assert Seat.objects.get(pk="W07000102").name == "Montgomeryshire and Glyndŵr"
    assert Seat.objects.get(pk="W07000112").name == "Ynys Môn"


def test_priority_comes_from_the_2024_majority_with_the_notional_2019_beside_it(seats_2024):
    hendon = Seat.objects.get(pk=HENDON)  # Labour by 15 votes of 37,693 in 2024; notionally Con by 3,661 in 2019
    assert (hendon.election_year, hendon.winner, hendon.majority) == (2024, "Lab", 15)
    assert hendon.majority_pct == pytest.approx(100 * 15 / hendon.valid_votes) and hendon.priority == 1
    assert (hendon.notional_year, hendon.notional_winner) == (2019, "Con") and hendon.notional_majority_pct > 5
    holborn = Seat.objects.get(pk=HOLBORN)  # 30.0% in 2024, whatever its notional: the same bands as before
    assert holborn.majority_pct == pytest.approx(29.98, abs=0.01) and holborn.priority == 5
    # the same five bands (< 5, < 10, < 15, < 25 %, the rest) over all 650
    for seat in Seat.objects.all():
        band = next((b for ceiling, b in ((5, 1), (10, 2), (15, 3), (25, 4)) if seat.majority_pct < ceiling), 5)
        assert seat.computed_priority == seat.priority == band, seat.name


def test_the_seat_api_shows_the_notional_result_beside_the_real_one(seats_2024, client):
    body = client.get(f"/api/seats/{HENDON}/").json()
    assert (body["majority"], body["boundary_set"], body["notional_year"], body["notional_winner"]) == (
        15, "2024", 2019, "Con")
    assert body["neighbours"] and all(n["ons_code"].startswith("E1400") for n in body["neighbours"])


def test_re_importing_the_2024_seats_changes_nothing(seats_2024, files_2024):
    before = list(Seat.objects.order_by("pk").values())

    again = seats_import(**files_2024, boundary_set="2024")

    assert again.counts["seats_created"] == 0 and again.counts["seats_updated"] == 650 and again.rejected == 0
    assert [{k: v for k, v in row.items() if k != "updated_at"} for row in Seat.objects.order_by("pk").values()] == [
        {k: v for k, v in row.items() if k != "updated_at"} for row in before]
    assert SeatAdjacency.objects.count() == 2 * 1723


def test_both_sets_side_by_side_share_the_unchanged_seats_and_keep_the_newer_result(seats_2024, shared_data):
    report = seats_import(results=shared_data / "elections" / "HoC-GE2017-constituency-results.csv",
                          centroids=shared_data / "geo" / "constituency_centroids_2010set.csv",
                          adjacency=shared_data / "geo" / "constituency_adjacency_2010set.csv", boundary_set="2010")

    assert report.rejected == 0 and report.counts["newer_result_kept"] == 5
    assert Seat.objects.count() == 1295
    assert Seat.objects.in_set("2010").count() == Seat.objects.in_set("2024").count() == 650
    assert set(Seat.objects.in_set("2010").in_set("2024").values_list("pk", flat=True)) == UNCHANGED
    assert Seat.objects.get(pk="S14000051").election_year == 2024  # Orkney and Shetland keeps GE2024
    # each set's adjacency graph is kept apart: the 2024 import's pairs are still all there
    # (East Renfrewshire and North Ayrshire and Arran border each other in both sets: one pair)
    assert SeatAdjacency.objects.count() == 2 * (1723 + 1719 - 1)


def test_the_2024_postcode_import_applies_the_corrections_file(seats_2024, shared_data, write_csv):
    corrections_path = shared_data / "postcodes" / "pcon2024_pip_vs_mysociety_disagreements.csv.gz"
    with gzip.open(corrections_path, "rt") as handle:
        corrections = {row["postcode"].replace(" ", ""): row for row in csv.DictReader(handle)}
    assert len(corrections) == 35_839
    sample = shared_data / "postcodes" / "postcode_sample_pcon2024.csv"
    with sample.open() as handle:
        corrected = [row for row in csv.DictReader(handle) if row["postcode"].replace(" ", "") in corrections]
    assert len(corrected) == 1238
    row = corrected[0]
    fix = corrections[row["postcode"].replace(" ", "")]
    assert fix["pcon_pip"] == row["pcon"] != fix["pcon_mysociety"]

    plain = postcodes_import(path=sample, boundary_set="2024")
    canonical = row["postcode"] if " " in row["postcode"] else f"{row['postcode'][:-3]} {row['postcode'][-3:]}"
    assert Postcode.objects.get(postcode=canonical).seat_id == row["pcon"]
    report = postcodes_import(path=sample, boundary_set="2024", corrections=corrections_path)

    assert report.counts["seat_corrected"] == len(corrected) == report.counts["updated"]
    assert Postcode.objects.get(postcode=canonical).seat_id == fix["pcon_mysociety"]
    assert report.counts["created"] == 0 and Postcode.objects.count() == plain.counts["created"]
    again = postcodes_import(path=sample, boundary_set="2024", corrections=corrections_path)  # idempotent
    assert again.counts["updated"] == again.counts["created"] == 0
    assert again.counts["unchanged"] == plain.counts["created"]


def test_the_import_command_applies_the_corrections_by_default(seats_2024, shared_data, write_csv):
    # SW1A 0AA's BUC seat is wrong in no file, so use a listed postcode with a made-up file row
    with gzip.open(shared_data / "postcodes" / "pcon2024_pip_vs_mysociety_disagreements.csv.gz", "rt") as handle:
        first = next(csv.DictReader(handle))
    path = write_csv("p.csv", [["postcode", "lat", "long", "pcon"], [first["postcode"], "57.1", "-2.1",
                                                                       first["pcon_pip"]]])
    call_command("import_postcodes", path, "--no-progress", stdout=io.StringIO())
    assert Postcode.objects.get().seat_id == first["pcon_mysociety"]
    call_command("import_postcodes", path, "--no-progress", "--no-corrections", stdout=io.StringIO())
    assert Postcode.objects.get().seat_id == first["pcon_pip"]


def test_searches_see_the_current_set_only(seats_2024, shared_data, client):
    seats_import(results=shared_data / "elections" / "HoC-GE2017-constituency-results.csv",
                 centroids=shared_data / "geo" / "constituency_centroids_2010set.csv", boundary_set="2010")
    for boundary_set, code in (("2010", HALLAM_2010), ("2024", HALLAM_2024)):
        PostcodeFactory(boundary_set=boundary_set, postcode="S10 5XZ", lat=53.37, lng=-1.52,
                        seat=Seat.objects.get(pk=code))
    assert boundary_set_current() == "2024"

    assert postcode_locate("S10 5XZ").seat_id == HALLAM_2024
    found = client.get("/api/seats/", {"q": "Hallam"}).json()["results"]
    assert [seat["ons_code"] for seat in found] == [HALLAM_2024]
    near = client.get("/api/seats/", {"near": "S10 5XZ"}).json()["results"]
    assert near and all(Seat.objects.in_set("2024").filter(pk=s["ons_code"]).exists() for s in near)
    assert {seat.pk for seat, _ in seats_that_matter_near(lat=53.37, lng=-1.52, among=20)} <= set(
        Seat.objects.in_set("2024").values_list("pk", flat=True))
    # an old seat is still there to look at (its history), just not found by searches
    assert client.get(f"/api/seats/{HALLAM_2010}/").status_code == 200

    BoundarySet.objects.update(is_current=False)
    BoundarySet.objects.filter(code="2010").update(is_current=True)
    assert postcode_locate("S10 5XZ").seat_id == HALLAM_2010
    assert [s["ons_code"] for s in client.get("/api/seats/", {"q": "Hallam"}).json()["results"]] == [HALLAM_2010]


def test_districts_are_kept_per_set(seats_2024, shared_data):
    first = districts_import(path=shared_data / "postcodes" / "outcode_centroids_2024set.csv", boundary_set="2024")
    again = districts_import(path=shared_data / "postcodes" / "outcode_centroids_2024set.csv", boundary_set="2024")
    old = districts_import(path=shared_data / "postcodes" / "outcode_centroids.csv", boundary_set="2010")

    assert first.counts["created"] == 3076 and again.counts["created"] == 0 and again.counts["updated"] == 3076
    assert old.counts["created"] == 3076 and old.counts["seat_unknown"] > 3000  # no 2010 seats imported here
    # Croydon East is nobody's main seat; every other 2024 seat is some district's
    mains = set(Seat.objects.in_set("2024").filter(pk__in=_main_seats()).values_list("pk", flat=True))
    assert len(mains) == 649 and "E14001186" not in mains


def _main_seats():
    from seats.models import PostcodeDistrict

    return PostcodeDistrict.objects.filter(boundary_set="2024").values("seat_id")


def test_the_seat_page_shows_the_notional_result_and_an_old_seat_says_it_is_history(seats_2024, shared_data,
                                                                                      client):
    from tests.factories import UserFactory

    seats_import(results=shared_data / "elections" / "HoC-GE2017-constituency-results.csv",
                 centroids=shared_data / "geo" / "constituency_centroids_2010set.csv", boundary_set="2010")
    client.force_login(UserFactory(is_staff=True))

    page = client.get(f"/coordinate/seats/{HENDON}/").content.decode()
    assert "Notional 2019 result on these boundaries: Con by 3,661 votes (8.0%)" in page
    assert "Boundaries: the 2024 set" in page and "its history only" not in page
    old = client.get(f"/coordinate/seats/{HALLAM_2010}/")
    assert old.status_code == 200 and "not a seat of the current boundary set: its history only" in old.content.decode()
    unchanged = client.get("/coordinate/seats/S14000051/").content.decode()  # Orkney and Shetland, both sets
    assert "(unchanged in the 2024 set)" in unchanged and "its history only" not in unchanged
