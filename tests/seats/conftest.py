from pathlib import Path

import pytest

from seats.importers import seats_import
from tests import factories


@pytest.fixture(autouse=True)
def _postcodes_without_districts(monkeypatch):
    """These tests make (or import) their own districts: a postcode made here brings none."""
    monkeypatch.setattr(factories, "POSTCODE_DISTRICTS", False)


@pytest.fixture
def ge2017(shared_data: Path) -> dict[str, Path]:
    return {
        "results": shared_data / "elections" / "HoC-GE2017-constituency-results.csv",
        "centroids": shared_data / "geo" / "constituency_centroids_2010set.csv",
        "adjacency": shared_data / "geo" / "constituency_adjacency_2010set.csv",
    }


@pytest.fixture
def seats_2017(db, ge2017):
    """All 650 seats with their 2017 results and neighbours, as `manage.py import_seats` loads them."""
    return seats_import(**ge2017)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write rows (the first is the header) to a CSV file in tmp_path and return its path."""
    import csv

    def write(name: str, rows: list[list]) -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        return path

    return write
