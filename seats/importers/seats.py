"""Import seats (House of Commons Library results, centroids) and their adjacency."""


import re
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.importers.common import (
    ONS_CODE_RE,
    PARTY_ABBREVIATIONS,
    ImportRejected,
    ImportReport,
    _coordinates,
    _float,
    _rows,
)
from seats.models import DEFAULT_BOUNDARY_SET, BoundarySet, Seat, SeatAdjacency
from seats.services import seat_effective_priority, seat_priority_compute

RESULT_COLUMNS = {name: (name,) for name in ("ons_id", "constituency_name", "first_party", "second_party",
                                             "electorate", "valid_votes", "majority")}
CENTROID_PAIRS = (("postcode_weighted_lat", "postcode_weighted_long"), ("centroid_lat", "centroid_long"),
                  ("label_lat", "label_long"))
SEAT_UPDATE_FIELDS = ["name", "nation", "region", "county", "lat", "lng", "area_km2", "electorate", "election_year",
                      "winner", "runner_up", "result", "valid_votes", "majority", "majority_pct",
                      "computed_priority", "priority", "boundary_set", "last_boundary_set", "notional_year",
                      "notional_winner", "notional_majority", "notional_majority_pct", "updated_at"]
# What a seat keeps when a later election's result is already stored (an unchanged seat imported for its older set).
KEPT_FIELDS = [name for name in SEAT_UPDATE_FIELDS if name not in ("boundary_set", "last_boundary_set", "updated_at")]
SEAT_TEXT_FIELDS = {"constituency_name": "name", "country_name": "nation", "region_name": "region",
                    "county_name": "county", "first_party": "winner", "second_party": "runner_up", "result": "result"}


def election_year_from_name(path: Path) -> int | None:
    match = re.search(r"GE[-_ ]?((?:19|20)\d\d)", Path(path).name, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _text(row: dict[str, str], key: str, report: ImportReport) -> str:
    """A stripped text value clipped to the Seat field's length (long party names are abbreviated)."""
    value = (row.get(key) or "").strip()
    value = PARTY_ABBREVIATIONS.get(value, value)
    limit = Seat._meta.get_field(SEAT_TEXT_FIELDS[key]).max_length
    if len(value) > limit:
        report.counts["values_clipped"] += 1
        value = value[:limit]
    return value


def _result_parse(row: dict[str, str], report: ImportReport) -> tuple[str, dict] | str:
    """(ons code, Seat fields) for one results row, or the reason to reject it."""
    code = (row.get("ons_id") or "").strip().upper()
    if not ONS_CODE_RE.match(code):
        return "bad ONS code"
    numbers = {}
    for column in ("electorate", "valid_votes", "majority"):
        try:
            numbers[column] = int((row.get(column) or "").replace(",", "").strip())
        except ValueError:
            return f"missing or non-numeric {column}"
        if numbers[column] < 0:
            return f"negative {column}"
    if numbers["valid_votes"] == 0 or numbers["majority"] > numbers["valid_votes"]:
        return "majority and valid_votes inconsistent"
    fields = {model_field: _text(row, column, report) for column, model_field in SEAT_TEXT_FIELDS.items()}
    if not fields["name"] or not fields["winner"]:
        return "missing constituency name or first party"
    # The file's majority is authoritative (Speaker and independent seats), never recomputed from party votes.
    majority_pct = 100.0 * numbers["majority"] / numbers["valid_votes"]
    return code, {**fields, **numbers, "majority_pct": majority_pct}


NOTIONAL_COLUMNS = {"ons_id": ("ons_id",), "winner": ("first_party_2019n", "first_party"),
                    "majority": ("majority_2019n", "majority"), "valid_votes": ("valid_votes_2019n", "valid_votes")}


def _notional_read(path: Path, report: ImportReport, progress: bool) -> dict[str, dict]:
    """Notional results by ONS code: winner, majority and its share of valid votes."""
    notional = {}
    year = election_year_from_name(path) or (int(m.group(1)) if (m := re.search(r"((?:19|20)\d\d)n?", path.name))
                                              else None)
    for line, row in _rows(path, progress, {"ons_id": ("ons_id",)}):
        code = (row.get("ons_id") or "").strip().upper()
        try:
            majority = int((row.get("majority_2019n") or row.get("majority") or "").replace(",", ""))
            valid = int((row.get("valid_votes_2019n") or row.get("valid_votes") or "").replace(",", ""))
        except ValueError:
            report.reject(path.name, line, code, "notional majority or valid votes not a number")
            continue
        if not ONS_CODE_RE.match(code) or valid <= 0 or not 0 <= majority <= valid:
            report.reject(path.name, line, code, "bad notional row")
            continue
        winner = (row.get("first_party_2019n") or row.get("first_party") or "").strip()[:20]
        notional[code] = {"notional_year": year, "notional_winner": winner, "notional_majority": majority,
                          "notional_majority_pct": 100.0 * majority / valid}
    return notional


def seats_import(*, results: Path, centroids: Path, adjacency: Path | None = None, year: int | None = None,
                 boundary_set: str = DEFAULT_BOUNDARY_SET, notional: Path | None = None, strict: bool = False,
                 progress: bool = False) -> ImportReport:
    """Upsert one boundary set's seats from a HoC results CSV (GE2017/GE2019/GE2024 columns or ge2024_summary),
    their centres, notional results and the set's adjacency graph.

    One transaction; idempotent. Keeps coordinator overrides and target flags. A seat the file shares with
    another set (same ONS code, unchanged boundaries) joins this set too, and keeps the newer of the two
    results. The adjacency file is the whole graph of this set: its pairs missing from the file are removed.
    Raises ImportRejected (rolled back) in strict mode, InvalidInput for an unknown set.
    """
    results, centroids = Path(results), Path(centroids)
    year = year or election_year_from_name(results)
    if year is None:
        raise InvalidInput(gettext("Cannot tell the election year from %(name)s; pass --year.") % {"name": results.name},
                           code="bad_file", fields={"year": [gettext("Required.")]})
    if not BoundarySet.objects.filter(code=boundary_set).exists():
        raise InvalidInput(gettext("No boundary set %(code)s.") % {"code": boundary_set}, code="unknown_set",
                           fields={"set": [gettext("Unknown boundary set.")]})
    report = ImportReport()
    with transaction.atomic():
        parsed: dict[str, tuple[int, dict]] = {}
        for line, row in _rows(results, progress, RESULT_COLUMNS):
            outcome = _result_parse(row, report)
            if isinstance(outcome, str):
                report.reject(results.name, line, row.get("ons_id", ""), outcome)
            elif outcome[0] in parsed:
                report.reject(results.name, line, outcome[0], "duplicate seat")
            else:
                parsed[outcome[0]] = (line, outcome[1])
        report.counts["result_rows"] = len(parsed)
        notionals = _notional_read(Path(notional), report, progress) if notional else {}

        existing = {row["ons_code"]: row for row in Seat.objects.select_for_update().values(
            "ons_code", "priority_override", "is_target", "target_list_priority", "boundary_set", "last_boundary_set", *KEPT_FIELDS)}
        centres: dict[str, tuple[float, float, float | None]] = {}
        for line, row in _rows(centroids, progress, {"ons_id": ("ons_id",)}):
            code = (row.get("ons_id") or "").strip().upper()
            point = _coordinates(row, CENTROID_PAIRS)
            if code not in parsed and code not in existing:
                report.reject(centroids.name, line, code, "unknown seat")
            elif point is None:
                report.reject(centroids.name, line, code, "no usable coordinates")
            else:
                centres[code] = (*point, _float(row.get("area_km2")))

        seats = []
        for code, (line, fields) in parsed.items():
            old = existing.get(code)
            lat, lng, area = centres.get(code) or ((old["lat"], old["lng"], old["area_km2"]) if old else (None,) * 3)
            if lat is None:
                report.reject(results.name, line, code, "new seat without a centre in the centroids file")
                continue
            first, last = boundary_set, boundary_set
            if old:
                first, last = min(old["boundary_set"], first), max(old["last_boundary_set"], last)
                if (old["election_year"] or 0) > year:
                    # An unchanged seat already holds a later election's result: keep it, and its centre.
                    report.counts["newer_result_kept"] += 1
                    keep = {name: old[name] for name in KEPT_FIELDS}
                    seats.append(Seat(**{**keep, "boundary_set_id": first, "last_boundary_set_id": last,
                                         "ons_code": code, "priority_override": old["priority_override"],
                                         "is_target": old["is_target"],
                                         "target_list_priority": old["target_list_priority"]}))
                    continue
            override, is_target, listed = ((old["priority_override"], old["is_target"], old["target_list_priority"])
                                           if old else (None, False, None))
            computed = seat_priority_compute(majority_pct=fields["majority_pct"])
            seats.append(Seat(ons_code=code, **fields, **notionals.get(code, {}), lat=lat, lng=lng, area_km2=area,
                              election_year=year, boundary_set_id=first, last_boundary_set_id=last,
                              computed_priority=computed, priority_override=override, is_target=is_target,
                              priority=seat_effective_priority(computed=computed, override=override,
                                                               is_target=is_target, listed=listed)))
        Seat.objects.bulk_create(seats, update_conflicts=True, unique_fields=["ons_code"],
                                 update_fields=SEAT_UPDATE_FIELDS)
        report.counts["seats_created"] = sum(seat.ons_code not in existing for seat in seats)
        report.counts["seats_updated"] = len(seats) - report.counts["seats_created"]
        if notional:
            report.counts["notional_results"] = sum(seat.ons_code in notionals for seat in seats)
        if adjacency is not None:
            _adjacency_import(Path(adjacency), report, progress, boundary_set)
        if strict and report.rejected:
            raise ImportRejected(report)
    return report


def _adjacency_import(path: Path, report: ImportReport, progress: bool, boundary_set: str) -> None:
    known = set(Seat.objects.in_set(boundary_set).values_list("ons_code", flat=True))
    kinds = set(SeatAdjacency.Kind.values)
    edges: dict[tuple[str, str], tuple[str, float]] = {}
    for line, row in _rows(path, progress, {name: (name,) for name in ("ons_id_a", "ons_id_b", "adjacency_type")}):
        a, b = (row.get("ons_id_a") or "").strip().upper(), (row.get("ons_id_b") or "").strip().upper()
        kind, km = (row.get("adjacency_type") or "").strip(), _float(row.get("shared_border_km") or "0")
        reason = ("unknown seat" if a not in known or b not in known else "seat next to itself" if a == b
                  else "unknown adjacency type" if kind not in kinds else "bad shared_border_km" if km is None
                  else None)
        if reason:
            report.reject(path.name, line, f"{a}-{b}", reason)
            continue
        edges[a, b] = edges[b, a] = (kind, km)
    SeatAdjacency.objects.bulk_create(
        [SeatAdjacency(from_seat_id=a, to_seat_id=b, kind=kind, shared_border_km=km)
         for (a, b), (kind, km) in edges.items()],
        update_conflicts=True, unique_fields=["from_seat", "to_seat"], update_fields=["kind", "shared_border_km"],
    )
    # Only this set's graph: pairs between two of its seats. An unchanged seat keeps its other set's neighbours.
    stale = [pk for pk, a, b in SeatAdjacency.objects.filter(from_seat__in=known, to_seat__in=known)
             .values_list("pk", "from_seat_id", "to_seat_id") if (a, b) not in edges]
    SeatAdjacency.objects.filter(pk__in=stale).delete()
    report.counts["neighbour_pairs"] = len(edges) // 2
    report.counts["adjacency_rows_removed"] = len(stale)


# --- Postcodes and districts -----------------------------------------------------------------
