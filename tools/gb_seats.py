"""The real 2010-set seats for the benches and the dispatch tests: every seat at its population-weighted centre with
its 2017 priority band, and the real adjacency, from the reference data (../shared/data)."""

from seats.models import Seat, SeatAdjacency


def gb_seats_load(shared_data) -> list[Seat]:
    """Every 2010-set seat at its population-weighted centre, 2017 priority band, and the real adjacency.
    Loading again refreshes the seats (bench/ runs it on a database it keeps between runs)."""
    import csv

    from seats.services import seat_priority_compute

    with (shared_data / "elections" / "ge2017_ge2019_summary.csv").open(encoding="utf-8") as handle:
        results = {row["ons_id"]: row for row in csv.DictReader(handle)}
    seats = []
    with (shared_data / "geo" / "constituency_centroids_2010set.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            result = results.get(row["ons_id"], {})
            majority = float(result["majority_pct_2017"]) if result.get("majority_pct_2017") else None
            priority = seat_priority_compute(majority_pct=majority)
            seats.append(Seat(ons_code=row["ons_id"], name=row["constituency_name"],
                              lat=float(row["postcode_weighted_lat"] or row["centroid_lat"]),
                              lng=float(row["postcode_weighted_long"] or row["centroid_long"]),
                              region=result.get("region_name", ""), computed_priority=priority, priority=priority))
    Seat.objects.bulk_create(seats, update_conflicts=True, unique_fields=["ons_code"],
                             update_fields=["name", "lat", "lng", "region", "computed_priority", "priority"])
    pairs = []
    with (shared_data / "geo" / "constituency_adjacency_2010set.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = row["adjacency_type"] if row["adjacency_type"] in SeatAdjacency.Kind.values else "shared_border"
            for a, b in ((row["ons_id_a"], row["ons_id_b"]), (row["ons_id_b"], row["ons_id_a"])):
                pairs.append(SeatAdjacency(from_seat_id=a, to_seat_id=b, kind=kind,
                                           shared_border_km=float(row["shared_border_km"] or 0)))
    SeatAdjacency.objects.bulk_create(pairs, ignore_conflicts=True)
    return seats
