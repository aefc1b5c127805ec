import csv
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from seats.importers import ImportRejected, seats_import
from seats.models import Seat, SeatAdjacency
from seats.services import seat_priority_set

pytestmark = pytest.mark.django_db

HALLAM = "E14000922"  # "Sheffield, Hallam" in the HoC file (E14000921 is Sheffield, Brightside and Hillsborough)
ISLANDS = {"E14000762", "S14000027", "S14000051"}  # Isle of Wight, Na h-Eileanan an Iar, Orkney and Shetland
GE2017_HEADER = ["ons_id", "constituency_name", "region_name", "country_name", "county_name", "result",
                 "first_party", "second_party", "electorate", "valid_votes", "majority"]
CENTROID_HEADER = ["ons_id", "centroid_lat", "centroid_long", "label_lat", "label_long",
                   "postcode_weighted_lat", "postcode_weighted_long", "area_km2"]


def _edges() -> set[tuple[str, str]]:
    return set(SeatAdjacency.objects.values_list("from_seat_id", "to_seat_id"))


def test_ge2017_import_loads_650_seats_and_a_symmetric_neighbour_graph(seats_2017, ge2017):
    assert Seat.objects.count() == 650
    assert seats_2017.rejected == 0
    with ge2017["adjacency"].open(newline="") as handle:
        pairs = list(csv.DictReader(handle))
    assert SeatAdjacency.objects.count() == 2 * len(pairs) == 2 * 1719
    edges = _edges()
    assert edges == {(b, a) for a, b in edges}
    kinds = Counter(SeatAdjacency.objects.values_list("kind", flat=True))
    assert kinds == {"shared_border": 2 * 1654, "water_gap": 2 * 53, "point_touch": 2 * 12}
    battersea_chelsea = SeatAdjacency.objects.get(from_seat="E14000629", to_seat="E14000549")
    assert battersea_chelsea.kind == "water_gap" and battersea_chelsea.shared_border_km == 0


def test_exactly_the_three_island_seats_have_no_neighbours(seats_2017):
    isolated = set(Seat.objects.filter(adjacencies__isnull=True).values_list("ons_code", flat=True))
    assert isolated == ISLANDS
    assert set(Seat.objects.filter(pk__in=ISLANDS).values_list("name", flat=True)) == {
        "Isle Of Wight", "Na h-Eileanan An Iar", "Orkney and Shetland"}


def test_sheffield_hallam_2017_matches_the_results_file(seats_2017):
    seat = Seat.objects.get(pk=HALLAM)
    assert (seat.name, seat.result) == ("Sheffield, Hallam", "Lab gain from LD")
    assert (seat.winner, seat.runner_up) == ("Lab", "LD")
    assert (seat.majority, seat.valid_votes, seat.electorate, seat.election_year) == (2125, 57020, 73455, 2017)
    assert seat.majority_pct == pytest.approx(3.727, abs=0.001)  # 100 * 2125 / 57020
    assert (seat.computed_priority, seat.priority) == (1, 1)
    # The postcode-weighted centre, not the polygon centroid (53.38187, -1.58975).
    assert (seat.lat, seat.lng, seat.area_km2) == (53.36575, -1.52492, 135.1)
    assert (seat.nation, seat.region, seat.county) == ("England", "Yorkshire and The Humber", "South Yorkshire")


def test_the_files_majority_is_used_even_when_the_speaker_won(seats_2017):
    buckingham = Seat.objects.get(name="Buckingham")
    assert (buckingham.winner, buckingham.majority) == ("Spk", 25725)
    assert Seat.objects.get(pk="E14000953").runner_up == "NHA"  # South West Surrey: "National Health Action Party"


def test_reimport_changes_no_counts_and_keeps_coordinator_choices(seats_2017, ge2017):
    seat_priority_set(ons_code=HALLAM, priority_override=4)
    seat_priority_set(ons_code="E14000762", is_target=True)  # Isle of Wight: 28% majority, band 5
    edges = _edges()

    report = seats_import(**ge2017)

    assert report.counts["seats_created"] == 0 and report.counts["seats_updated"] == 650
    assert Seat.objects.count() == 650 and _edges() == edges and SeatAdjacency.objects.count() == 3438
    hallam, wight = Seat.objects.get(pk=HALLAM), Seat.objects.get(pk="E14000762")
    assert (hallam.priority_override, hallam.computed_priority, hallam.priority) == (4, 1, 4)
    assert (wight.is_target, wight.computed_priority, wight.priority) == (True, 5, 4)


def test_ge2019_file_imports_with_its_own_column_names(seats_2017, shared_data, ge2017):
    report = seats_import(**{**ge2017, "results": shared_data / "elections" / "HoC-GE2019-results-by-constituency.csv"})

    assert report.rejected == 0 and Seat.objects.count() == 650
    hallam = Seat.objects.get(pk=HALLAM)
    assert (hallam.election_year, hallam.winner, hallam.runner_up, hallam.majority) == (2019, "Lab", "LD", 712)
    assert hallam.majority_pct == pytest.approx(100 * 712 / 56885)
    assert Seat.objects.filter(election_year=2019).count() == 650


def test_bad_rows_are_rejected_with_reasons_and_the_rest_imports(write_csv):
    hallam = [HALLAM, "Sheffield, Hallam", "Yorkshire and The Humber", "England", "South Yorkshire",
              "Lab gain from LD", "Lab", "LD", "73455", "57020", "2125"]
    results = write_csv("HoC-GE2017-bad.csv", [
        GE2017_HEADER, hallam,
        ["X14000001", "Nowhere", "", "", "", "", "Con", "Lab", "1", "1", "1"],
        ["E14000530", "Aldershot", "", "", "", "", "Con", "Lab", "72430", "", "11473"],
        ["E14000531", "Aldridge-Brownhills", "", "", "", "", "Con", "Lab", "60138", "100", "14307"],
        hallam,
        ["E14000532", "Altrincham and Sale West", "", "", "", "", "Con", "Lab", "73220", "53000", "6426"],
    ])
    centroids = write_csv("centroids.csv", [
        CENTROID_HEADER,
        [HALLAM, "53.38187", "-1.58975", "53.38187", "-1.58975", "", "", "135.1"],  # no weighted centre: centroid
        ["E14000999", "51", "0", "51", "0", "51", "0", "1"],
    ])
    adjacency = write_csv("adjacency.csv", [
        ["ons_id_a", "name_a", "ons_id_b", "name_b", "adjacency_type", "shared_border_km", "gap_km"],
        [HALLAM, "", "E14000999", "", "shared_border", "1.0", "0"],
        [HALLAM, "", HALLAM, "", "shared_border", "1.0", "0"],
    ])

    report = seats_import(results=results, centroids=centroids, adjacency=adjacency)

    assert dict(report.rejects) == {
        "bad ONS code": 1, "missing or non-numeric valid_votes": 1, "majority and valid_votes inconsistent": 1,
        "duplicate seat": 1, "new seat without a centre in the centroids file": 1, "unknown seat": 2,
        "seat next to itself": 1,
    }
    assert "HoC-GE2017-bad.csv:3 'X14000001'" in report.examples["bad ONS code"]
    assert list(Seat.objects.values_list("ons_code", "lat", "lng")) == [(HALLAM, 53.38187, -1.58975)]
    assert "bad ONS code: 1" in report.summary()


def test_strict_mode_rolls_back_and_the_command_exits_non_zero(write_csv, ge2017):
    results = write_csv("HoC-GE2017-bad.csv", [
        GE2017_HEADER, [HALLAM, "Sheffield, Hallam", "", "", "", "", "Lab", "LD", "73455", "oops", "2125"]])

    with pytest.raises(ImportRejected):
        seats_import(results=results, centroids=ge2017["centroids"], strict=True)
    with pytest.raises(CommandError):
        call_command("import_seats", "--results", results, "--strict", "--no-progress")
    assert not Seat.objects.exists()


def test_neighbour_pairs_missing_from_a_new_adjacency_file_are_removed(seats_2017, ge2017, write_csv):
    with ge2017["adjacency"].open(newline="") as handle:
        rows = list(csv.reader(handle))

    report = seats_import(**{**ge2017, "adjacency": write_csv("adjacency.csv", rows[:11])})

    assert SeatAdjacency.objects.count() == 20
    assert report.counts["adjacency_rows_removed"] == 3438 - 20


def test_results_without_a_year_in_the_name_need_one(write_csv, ge2017):
    results = write_csv("results.csv", [GE2017_HEADER])
    with pytest.raises(Exception, match="pass --year"):
        seats_import(results=results, centroids=ge2017["centroids"])
    assert seats_import(results=results, centroids=ge2017["centroids"], year=2017).counts["result_rows"] == 0


def test_a_results_file_missing_columns_is_refused(write_csv, ge2017):
    results = write_csv("HoC-GE2017.csv", [["ons_id", "constituency_name"], [HALLAM, "Sheffield, Hallam"]])
    with pytest.raises(Exception, match="no column for first_party"):
        seats_import(results=results, centroids=ge2017["centroids"])


def test_the_command_loads_the_reference_files_by_default(capsys):
    call_command("import_seats", "--no-progress")  # the 2024 set

    assert Seat.objects.in_set("2024").count() == 650 and SeatAdjacency.objects.count() == 2 * 1723
    assert "seats_created 650" in capsys.readouterr().out


def test_a_results_file_for_some_seats_updates_only_those(seats_2017, ge2017, write_csv):
    results = write_csv("HoC-GE2019-hallam.csv", [GE2017_HEADER, [
        HALLAM, "Sheffield, Hallam", "Yorkshire and The Humber", "England", "South Yorkshire", "Lab hold", "Lab", "LD",
        "72763", "56885", "712"]])

    report = seats_import(results=results, centroids=ge2017["centroids"])

    assert report.rejected == 0 and report.counts["seats_updated"] == 1
    assert Seat.objects.get(pk=HALLAM).election_year == 2019
    assert Seat.objects.filter(election_year=2017).count() == 649 and SeatAdjacency.objects.count() == 3438
