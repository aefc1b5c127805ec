from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from seats.importers import districts_import, postcode_file_kind, postcodes_import


class Command(BaseCommand):
    help = (
        "Load or refresh postcodes from a CSV, plain or gzipped (detected from the file's first bytes). "
        "Full postcodes need the columns postcode, lat, long and optionally pcon (the seat's ONS code), e.g. "
        "postcodes/postcodes_full_pcon2010.csv.gz or postcode_sample_pcon2010.csv; districts need outcode, lat, long "
        "and optionally pcon_main and n_postcodes, e.g. postcodes/outcode_centroids.csv. Postcodes are normalised "
        "('YO901GA' becomes 'YO90 1GA'); invalid ones are skipped and counted, seat codes missing from the seat table "
        "load as no seat (import seats first). One transaction, safe to repeat: existing rows are updated. "
        "On PostgreSQL the rows go in with COPY; an empty table is filled with its indexes dropped, and a re-import "
        "that changes a quarter of the table or more rewrites it, so lookups wait until that import commits."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="CSV or CSV.gz file.")
        parser.add_argument("--kind", choices=["postcodes", "districts"],
                            help="What the file holds (default: postcodes if it has a postcode column, "
                                 "districts if it has only an outcode column).")
        parser.add_argument("--batch-size", type=int, default=10_000,
                            help="Rows per COPY write on PostgreSQL, per bulk_create batch elsewhere "
                                 "(default: %(default)s).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar on stderr.")

    def handle(self, *args, **options):
        path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file {path}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        progress = not options["no_progress"]
        try:
            kind = options["kind"] or postcode_file_kind(path)
            if kind == "districts":
                report = districts_import(path=path, progress=progress)
            else:
                report = postcodes_import(path=path, batch_size=options["batch_size"], progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(report.summary())
        self.stdout.write(self.style.SUCCESS(f"{kind.capitalize()} imported from {path.name}."))
