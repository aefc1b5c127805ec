"""Write dispatch/demo/demo_geography.json, the demo's slice of the 2024 boundary set, from the shared data.

Seven real GE2024 marginals, the seats bordering them, 40 postcodes of each marginal and 10 of each neighbour
(from postcode_sample_pcon2024.csv with the full-resolution corrections applied), and the postcode districts
of those seats. Run it again only to change the demo: `python tools/demo_geography.py [shared data dir]`.
"""

import csv
import gzip
import json
import sys
from pathlib import Path

FOCUS = ["E14001279", "E14001429", "E14001480", "E14001425", "E14001087", "W07000095", "S14000075"]
# Hendon, Poole, South Basildon and East Thurrock, Peterborough, Beverley and Holderness, Clwyd North,
# Dundee Central: majorities of 15, 18, 98, 118, 124, 1,196 and 675 votes (0.04% to 2.9%).
OUT = Path(__file__).resolve().parent.parent / "dispatch" / "demo" / "demo_geography.json"


def main(data: Path) -> None:
    summary = {r["ons_id"]: r for r in csv.DictReader((data / "elections" / "ge2024_summary.csv").open())}
    notional = {r["ons_id"]: r for r in csv.DictReader(
        (data / "elections" / "notional_ge2019_2024set_summary.csv").open())}
    centres = {r["ons_id"]: r for r in csv.DictReader((data / "geo" / "constituency_centroids_2024set.csv").open())}
    adjacency = [r for r in csv.DictReader((data / "geo" / "constituency_adjacency_2024set.csv").open())
                 if r["ons_id_a"] in FOCUS or r["ons_id_b"] in FOCUS]
    seats = set(FOCUS) | {r["ons_id_a"] for r in adjacency} | {r["ons_id_b"] for r in adjacency}
    # Pairs between any two demo seats, so overflow can walk more than one ring.
    adjacency = [r for r in csv.DictReader((data / "geo" / "constituency_adjacency_2024set.csv").open())
                 if r["ons_id_a"] in seats and r["ons_id_b"] in seats]
    with gzip.open(data / "postcodes" / "pcon2024_pip_vs_mysociety_disagreements.csv.gz", "rt") as handle:
        corrections = {r["postcode"].replace(" ", ""): r["pcon_mysociety"] for r in csv.DictReader(handle)}
    by_seat: dict[str, list[dict]] = {}
    for row in csv.DictReader((data / "postcodes" / "postcode_sample_pcon2024.csv").open()):
        seat = corrections.get(row["postcode"].replace(" ", ""), row["pcon"])
        if seat in seats:
            by_seat.setdefault(seat, []).append(row)
    postcodes = []
    for seat in sorted(seats):
        centre = centres[seat]
        lat, lng = float(centre["postcode_weighted_lat"]), float(centre["postcode_weighted_long"])
        # The postcodes nearest the seat's centre: the first is where its demo host lives.
        rows = sorted(by_seat.get(seat, []), key=lambda r: (float(r["lat"]) - lat) ** 2 + (float(r["long"]) - lng) ** 2)
        for row in rows[:40 if seat in FOCUS else 10]:
            postcodes.append({"postcode": row["postcode"], "lat": float(row["lat"]), "lng": float(row["long"]),
                              "seat": seat})
    outcodes = {p["postcode"].split(" ")[0] if " " in p["postcode"] else p["postcode"][:-3] for p in postcodes}
    districts = [{"outcode": r["outcode"], "lat": float(r["lat"]), "lng": float(r["long"]), "seat": r["pcon_main"],
                  "n": int(r["n_postcodes"])}
                 for r in csv.DictReader((data / "postcodes" / "outcode_centroids_2024set.csv").open())
                 if r["outcode"] in outcodes and r["pcon_main"] in seats]
    seat_rows = []
    for code in sorted(seats):
        s, c, n = summary[code], centres[code], notional[code]
        seat_rows.append({
            "ons_code": code, "name": s["constituency_name"], "nation": s["country_name"], "region": s["region_name"],
            "lat": float(c["postcode_weighted_lat"]), "lng": float(c["postcode_weighted_long"]),
            "area_km2": float(c["area_km2"]), "electorate": int(s["electorate"]), "winner": s["first_party"],
            "runner_up": s["second_party"], "valid_votes": int(s["valid_votes"]), "majority": int(s["majority"]),
            "notional_winner": n["first_party_2019n"], "notional_majority": int(n["majority_2019n"]),
            "notional_valid_votes": int(n["valid_votes_2019n"]),
        })
    out = {
        "source": "House of Commons Library GE2024 results and GE2019 notionals (Open Parliament Licence v3.0); ONS "
                  "postcode lookup, 2024 boundaries (BUC) and boundary-derived adjacency (OGL v3); postcode seats "
                  "corrected with mySociety's full-resolution lookup (CC BY 4.0).",
        "boundary_set": "2024", "focus_seats": FOCUS, "seats": seat_rows,
        "adjacency": [{"a": r["ons_id_a"], "b": r["ons_id_b"], "kind": r["adjacency_type"],
                       "km": float(r["shared_border_km"])} for r in adjacency],
        "districts": districts, "postcodes": postcodes,
    }
    OUT.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(seat_rows)} seats, {len(adjacency)} pairs, {len(districts)} districts, "
          f"{len(postcodes)} postcodes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
