from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from seats.importers import ImportRejected, seats_import, shared_data_dir

# The reference files of each boundary set under FRONTROOM_SHARED_DATA (see its PROVENANCE.md).
SET_FILES = {
    "2010": {"results": "elections/HoC-GE2017-constituency-results.csv",
             "centroids": "geo/constituency_centroids_2010set.csv",
             "adjacency": "geo/constituency_adjacency_2010set.csv", "notional": None},
    # ge2024_summary.csv rather than the HoC file: the same figures with the accents the HoC copy lost.
    "2024": {"results": "elections/ge2024_summary.csv",
             "centroids": "geo/constituency_centroids_2024set.csv",
             "adjacency": "geo/constituency_adjacency_2024set.csv",
             "notional": "elections/notional_ge2019_2024set_summary.csv"},
}


class Command(BaseCommand):
    help = (
        "Load or refresh the 650 Westminster seats of one boundary set (--set 2024, the default: the seats of the "
        "2023 review with their GE2024 results and GE2019 notionals; --set 2010: the 2010–2024 seats with GE2017 "
        "results) from a House of Commons Library results CSV, with each seat's centre from the centroids file and "
        "its neighbours from the adjacency file. Priority is recomputed from the majority's share of valid votes; "
        "coordinator overrides and target flags are kept. A seat the review left unchanged keeps its ONS code and "
        "joins both sets. Importing a set does not make it current: see move_to_boundary_set. Runs in one "
        "transaction and is safe to repeat: rows are updated, never duplicated, and neighbour pairs of the set "
        "missing from the adjacency file are removed. Rejected rows are listed at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument("--set", dest="boundary_set", choices=sorted(SET_FILES), default="2024",
                            help="Boundary set to import (default: %(default)s). It picks the default files below.")
        parser.add_argument("--results", type=Path,
                            help="Results CSV, one row per seat (default: the set's, e.g. elections/ge2024_summary.csv).")
        parser.add_argument("--centroids", type=Path,
                            help="Seat centres: postcode_weighted_lat/long, falling back to centroid_ and label_ "
                                 "(default: geo/constituency_centroids_<set>set.csv).")
        parser.add_argument("--adjacency", type=Path,
                            help="Neighbour pairs (ons_id_a, ons_id_b, adjacency_type, shared_border_km), written "
                                 "in both directions (default: geo/constituency_adjacency_<set>set.csv).")
        parser.add_argument("--notional", type=Path,
                            help="Notional results of the previous election on these boundaries, shown beside the "
                                 "real one (default for 2024: elections/notional_ge2019_2024set_summary.csv).")
        parser.add_argument("--year", type=int,
                            help="Election year of the results (default: read from the file name, e.g. GE2017).")
        parser.add_argument("--strict", action="store_true",
                            help="If any row is rejected, roll everything back and exit with status 1.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars on stderr.")

    def handle(self, *args, **options):
        data, defaults = shared_data_dir(), SET_FILES[options["boundary_set"]]
        for name, relative in defaults.items():
            if options[name] is None and relative is not None:
                options[name] = data / relative
        for name in ("results", "centroids", "adjacency", "notional"):
            if options[name] is not None and not options[name].is_file():
                raise CommandError(f"--{name}: no such file {options[name]}")
        try:
            report = seats_import(results=options["results"], centroids=options["centroids"],
                                  adjacency=options["adjacency"], notional=options["notional"],
                                  boundary_set=options["boundary_set"], year=options["year"],
                                  strict=options["strict"], progress=not options["no_progress"])
        except ImportRejected as exc:
            self.stderr.write(exc.report.summary())
            raise CommandError(exc.message) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(report.summary())
        style = self.style.WARNING if report.rejected else self.style.SUCCESS
        self.stdout.write(style(f"Seats of the {options['boundary_set']} set imported from {options['results'].name}."))
