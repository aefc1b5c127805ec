from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from seats.importers import ImportRejected, seats_import, shared_data_dir


class Command(BaseCommand):
    help = (
        "Load or refresh the 650 Westminster seats (2010–2024 boundaries) from a House of Commons Library "
        "general-election results CSV (the GE2017 or GE2019 column layout), with each seat's centre from the "
        "centroids file and its neighbours from the adjacency file. Priority is recomputed from the majority; "
        "coordinator overrides and target flags are kept. Runs in one transaction and is safe to repeat: rows are "
        "updated, never duplicated, and neighbour pairs missing from the adjacency file are removed. "
        "Rejected rows are listed at the end."
    )

    def add_arguments(self, parser):
        data = shared_data_dir()
        parser.add_argument("--results", type=Path, default=data / "elections" / "HoC-GE2017-constituency-results.csv",
                            help="Results CSV, one row per seat (default: %(default)s).")
        parser.add_argument("--centroids", type=Path, default=data / "geo" / "constituency_centroids_2010set.csv",
                            help="Seat centres: postcode_weighted_lat/long, falling back to centroid_ and label_ "
                                 "(default: %(default)s).")
        parser.add_argument("--adjacency", type=Path, default=data / "geo" / "constituency_adjacency_2010set.csv",
                            help="Neighbour pairs (ons_id_a, ons_id_b, adjacency_type, shared_border_km), written "
                                 "in both directions (default: %(default)s).")
        parser.add_argument("--year", type=int,
                            help="Election year of the results (default: read from the file name, e.g. GE2017).")
        parser.add_argument("--strict", action="store_true",
                            help="If any row is rejected, roll everything back and exit with status 1.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars on stderr.")

    def handle(self, *args, **options):
        for name in ("results", "centroids", "adjacency"):
            if not options[name].is_file():
                raise CommandError(f"--{name}: no such file {options[name]}")
        try:
            report = seats_import(results=options["results"], centroids=options["centroids"],
                                  adjacency=options["adjacency"], year=options["year"], strict=options["strict"],
                                  progress=not options["no_progress"])
        except ImportRejected as exc:
            self.stderr.write(exc.report.summary())
            raise CommandError(exc.message) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(report.summary())
        style = self.style.WARNING if report.rejected else self.style.SUCCESS
        self.stdout.write(style(f"Seats imported from {options['results'].name}."))
