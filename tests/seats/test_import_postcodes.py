import gzip

import pytest
from django.core.management import call_command
from django.db import connection

from seats.importers import (
    districts_import,
    postcode_fast_normalise,
    postcode_file_kind,
    postcodes_import,
    seats_import,
)
from seats.importers import postcodes as postcode_importer
from seats.models import Postcode, PostcodeDistrict, Seat

pytestmark = pytest.mark.django_db

HEADER = ["postcode", "lat", "long", "pcon"]
HALLAM, BATTERSEA = "E14000922", "E14000549"


@pytest.fixture
def sample(shared_data):
    return shared_data / "postcodes" / "postcode_sample_pcon2010.csv"


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Postcode._meta.db_table])
        return {row[0] for row in cursor.fetchall()}


def test_sample_file_loads_every_valid_postcode_with_its_seat(seats_2017, sample):
    indexes = _indexes()

    report = postcodes_import(path=sample)

    assert report.counts["rows"] == 91_662
    assert dict(report.rejects) == {"invalid postcode": 39}  # retired Newport "NPT 0NL"-style codes
    assert report.counts["created"] == Postcode.objects.count() == 91_623
    assert report.counts["seat_unknown"] == 0 and "empty table" in report.method
    assert Postcode.objects.filter(seat_id=HALLAM).count() == 2_921
    s10 = Postcode.objects.get(postcode="S10 1AA")
    assert (s10.lat, s10.lng, s10.seat_id) == (53.37173, -1.52501, HALLAM)
    assert Postcode.objects.get(postcode="AB10 1BG").seat_id == "S14000001"  # spelt "AB101BG" in the file
    assert _indexes() == indexes  # the primary key and every index are back after the load


def test_reimport_of_the_same_file_changes_nothing(seats_2017, sample):
    postcodes_import(path=sample)

    report = postcodes_import(path=sample)

    assert (report.counts["created"], report.counts["updated"], report.counts["unchanged"]) == (0, 0, 91_623)
    assert Postcode.objects.count() == 91_623 and "ON CONFLICT" in report.method


def test_reimport_updates_changed_rows_and_adds_new_ones(seats_2017, write_csv):
    sw11 = ["SW11 1AA", "51.4", "-0.1", BATTERSEA]
    postcodes_import(path=write_csv("a.csv", [HEADER, ["S10 1AA", "53.1", "-1.5", HALLAM], sw11]))

    report = postcodes_import(path=write_csv("b.csv", [HEADER, ["S10 1AA", "53.2", "-1.6", HALLAM], sw11,
                                                       ["S11 8YA", "53.3", "-1.5", ""]]))

    assert (report.counts["created"], report.counts["updated"], report.counts["unchanged"]) == (1, 1, 1)
    assert list(Postcode.objects.values_list("postcode", "lat", "lng", "seat_id")) == [
        ("S10 1AA", 53.2, -1.6, HALLAM), ("S11 8YA", 53.3, -1.5, None), ("SW11 1AA", 51.4, -0.1, BATTERSEA)]


def test_postcodes_are_normalised_and_invalid_ones_counted(seats_2017, write_csv):
    path = write_csv("p.csv", [
        HEADER, ["YO901GA", "53.95893", "-1.08838", "E14001061"], ["sw111aa", "51.46", "-0.16", BATTERSEA],
        [" s10  2tn ", "53.38", "-1.49", HALLAM], ["NPT 0AD", "51.5", "-3", ""], ["XX", "51", "0", ""],
        ["S1 1AA", "north", "-1.4", HALLAM], ["S1 2AA", "95", "-1.4", HALLAM], ["S1 3AA"],
    ])

    report = postcodes_import(path=path)

    assert sorted(Postcode.objects.values_list("postcode", flat=True)) == ["S10 2TN", "SW11 1AA", "YO90 1GA"]
    assert dict(report.rejects) == {"invalid postcode": 2, "bad coordinates": 2, "short row": 1}
    assert "p.csv:5 'NPT 0AD'" in report.examples["invalid postcode"]


def test_seat_codes_missing_from_the_seat_table_load_as_no_seat(seats_2017, write_csv):
    report = postcodes_import(path=write_csv("p.csv", [HEADER, ["SW11 1AA", "51.46", "-0.16", "E14001100"],
                                                       ["SW11 1AB", "51.46", "-0.16", ""]]))

    assert set(Postcode.objects.values_list("seat_id", flat=True)) == {None}
    assert (report.counts["seat_unknown"], report.counts["seat_blank"]) == (1, 1)


@pytest.mark.parametrize("already_loaded", [False, True], ids=["empty table", "staging table"])
def test_the_last_row_wins_for_duplicate_postcodes(db, write_csv, already_loaded):
    if already_loaded:
        postcodes_import(path=write_csv("first.csv", [HEADER, ["S10 1AA", "50", "-1", ""]]))

    report = postcodes_import(path=write_csv("p.csv", [
        HEADER, ["S10 1AA", "51", "-1", ""], ["SW11 1AA", "52", "-1", ""], ["S101AA", "53", "-1", ""],
        ["s10 1aa", "54", "-1", ""],
    ]))

    assert report.counts["duplicates"] == 2
    assert list(Postcode.objects.values_list("postcode", "lat")) == [("S10 1AA", 54.0), ("SW11 1AA", 52.0)]


def test_gzipped_files_are_recognised_by_their_first_bytes(db, tmp_path):
    rows = "postcode,lat,long,pcon\nS10 1AA,53.37173,-1.52501,E14000922\nYO901GA,53.95893,-1.08838,E14001061\n"
    for name in ("postcodes.csv.gz", "postcodes-no-suffix"):
        with gzip.open(tmp_path / name, "wt", encoding="utf-8") as handle:
            handle.write(rows)

        report = postcodes_import(path=tmp_path / name)

        assert report.counts["rows"] == 2 and report.rejected == 0
        assert sorted(Postcode.objects.values_list("postcode", flat=True)) == ["S10 1AA", "YO90 1GA"]


def test_a_big_change_rewrites_the_table_and_keeps_its_indexes(db, sample, ge2017, monkeypatch):
    postcodes_import(path=sample)  # before the seats exist: every seat is NULL
    assert not Postcode.objects.exclude(seat=None).exists()
    indexes = _indexes()
    seats_import(**ge2017)
    monkeypatch.setattr(postcode_importer, "REWRITE_MIN_ROWS", 1000)

    report = postcodes_import(path=sample)

    assert "rewritten" in report.method
    assert (report.counts["created"], report.counts["updated"], report.counts["unchanged"]) == (0, 91_623, 0)
    assert Postcode.objects.count() == 91_623 and Postcode.objects.filter(seat_id=HALLAM).count() == 2_921
    assert _indexes() == indexes


def test_a_rewrite_keeps_postcodes_that_are_not_in_the_new_file(seats_2017, write_csv, monkeypatch):
    postcodes_import(path=write_csv("a.csv", [HEADER, ["S10 1AA", "53.1", "-1.5", ""], ["S10 1AB", "53", "-1.5", ""]]))
    monkeypatch.setattr(postcode_importer, "REWRITE_MIN_ROWS", 0)

    report = postcodes_import(path=write_csv("b.csv", [HEADER, ["S10 1AA", "53.1", "-1.5", HALLAM],
                                                       ["S10 1AD", "53", "-1", ""]]))

    assert "rewritten" in report.method
    assert list(Postcode.objects.values_list("postcode", "seat_id")) == [
        ("S10 1AA", HALLAM), ("S10 1AB", None), ("S10 1AD", None)]
    assert Postcode.objects.get(postcode="S10 1AB").lat == 53.0
    assert (report.counts["created"], report.counts["updated"], report.counts["unchanged"]) == (1, 1, 0)


def test_the_portable_bulk_create_path_loads_the_same_rows(seats_2017, write_csv):
    rows = [HEADER, ["YO901GA", "53.95893", "-1.08838", "E14001061"], ["S10 1AA", "53.1", "-1.5", HALLAM],
            ["S10 1AA", "53.2", "-1.5", HALLAM], ["NPT 0AD", "51.5", "-3", ""],
            ["SW11 1AA", "51.4", "-0.1", "E14009999"]]
    postcodes_import(path=write_csv("a.csv", rows))
    by_copy = list(Postcode.objects.values_list("postcode", "lat", "lng", "seat_id"))
    Postcode.objects.all().delete()

    report = postcodes_import(path=write_csv("a.csv", rows), method="bulk_create", batch_size=2)
    again = postcodes_import(path=write_csv("a.csv", rows), method="bulk_create")

    assert list(Postcode.objects.values_list("postcode", "lat", "lng", "seat_id")) == by_copy
    assert report.counts["created"] == 3 and report.rejects["invalid postcode"] == 1
    assert (again.counts["created"], again.counts["updated_or_unchanged"]) == (0, 3)


def test_districts_load_from_the_outcode_file_and_reload_in_place(seats_2017, shared_data):
    path = shared_data / "postcodes" / "outcode_centroids.csv"

    first = districts_import(path=path)
    second = districts_import(path=path)

    assert (first.counts["created"], second.counts["created"], second.counts["updated"]) == (3076, 0, 3076)
    assert dict(first.rejects) == {"invalid outcode": 1}  # "NPT"
    assert PostcodeDistrict.objects.count() == 3076
    sw11 = PostcodeDistrict.objects.get(outcode="SW11")
    assert (sw11.lat, sw11.lng, sw11.seat_id, sw11.postcode_count) == (51.46722, -0.16376, BATTERSEA, 2541)


def test_the_file_kind_is_read_from_the_header(shared_data, sample):
    assert postcode_file_kind(sample) == "postcodes"
    assert postcode_file_kind(shared_data / "postcodes" / "outcode_centroids.csv") == "districts"


def test_the_command_loads_postcodes_and_districts(seats_2017, shared_data, write_csv, capsys):
    call_command("import_postcodes", write_csv("p.csv", [HEADER, ["YO901GA", "53.95893", "-1.08838", "E14001061"]]),
                 "--no-progress")
    call_command("import_postcodes", shared_data / "postcodes" / "outcode_centroids.csv", "--no-progress")

    out = capsys.readouterr().out
    # YO90 is worked out from its one postcode at first, then the district file's row replaces it.
    assert "created 1" in out and "districts_added 1" in out and "invalid outcode: 1" in out
    assert "created 3075, updated 1" in out
    assert Postcode.objects.get().seat == Seat.objects.get(pk="E14001061")


@pytest.mark.parametrize("raw", ["SW11 1AA", "sw111aa", "YO901GA", " yo90 1ga", "GIR0AA", "EC1A 1BB", "W1A0AX",
                                 "M11AE"])
def test_fast_normalisation_agrees_with_postcode_normalise(raw):
    from seats.postcodes import postcode_normalise

    assert postcode_fast_normalise(raw) == postcode_normalise(raw)


@pytest.mark.parametrize("raw", ["NPT 0AD", "XX", "", "SW11 1A", "SW11\t1AA!", "1W1 1AA"])
def test_fast_normalisation_rejects_what_postcode_normalise_rejects(raw):
    assert postcode_fast_normalise(raw) is None
