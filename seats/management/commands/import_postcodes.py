from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from seats.importers import districts_import, postcode_file_kind, postcodes_import, shared_data_dir

# The reference files of each boundary set under FRONTROOM_SHARED_DATA (see its PROVENANCE.md).
SET_FILES = {
    "2010": {"postcodes": "postcodes/postcodes_full_pcon2010.csv.gz", "districts": "postcodes/outcode_centroids.csv",
             "corrections": None},
    "2024": {"postcodes": "postcodes/postcodes_full_pcon2024.csv.gz",
             "districts": "postcodes/outcode_centroids_2024set.csv",
             # The 2024 file's seats come from ultra-generalised (500 m) boundaries; this file corrects the
             # 35,839 live GB postcodes where mySociety's full-resolution lookup disagrees.
             "corrections": "postcodes/pcon2024_pip_vs_mysociety_disagreements.csv.gz"},
}


class Command(BaseCommand):
    help = (
        "Load or refresh one boundary set's postcodes (--set 2024, the default, or 2010) from a CSV, plain or "
        "gzipped (detected from the file's first bytes); without a path, the set's full file in the shared data "
        "(postcodes/postcodes_full_pcon2024.csv.gz). Full postcodes need the columns postcode, lat, long and "
        "optionally pcon (the seat's ONS code), e.g. postcode_sample_pcon2024.csv; districts need outcode, lat, "
        "long and optionally pcon_main and n_postcodes, e.g. postcodes/outcode_centroids_2024set.csv (--kind "
        "districts without a path loads the set's). For the 2024 set the seat of every postcode listed in the "
        "corrections file (pcon2024_pip_vs_mysociety_disagreements.csv.gz) is replaced by its full-resolution seat. "
        "Postcodes are normalised ('YO901GA' becomes 'YO90 1GA'); invalid ones are skipped and counted, seat codes "
        "not in the set load as no seat (import_seats --set first). Each set's postcodes are kept apart: importing "
        "one never changes another, and importing a set does not make it current (see move_to_boundary_set). "
        "One transaction, safe to repeat: existing rows are updated. On PostgreSQL the rows go in with COPY; a set "
        "with no rows yet is appended with the table's indexes dropped, and a re-import that changes a quarter of "
        "the table or more rewrites it, so lookups wait until that import commits."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, nargs="?",
                            help="CSV or CSV.gz file (default: the set's full postcode or district file).")
        parser.add_argument("--set", dest="boundary_set", choices=sorted(SET_FILES), default="2024",
                            help="Boundary set the file's seat codes belong to (default: %(default)s).")
        parser.add_argument("--kind", choices=["postcodes", "districts"],
                            help="What the file holds (default: postcodes if it has a postcode column, "
                                 "districts if it has only an outcode column; postcodes without a path).")
        parser.add_argument("--corrections", type=Path,
                            help="CSV of postcode,pcon_mysociety whose seats replace the file's (default for 2024: "
                                 "postcodes/pcon2024_pip_vs_mysociety_disagreements.csv.gz).")
        parser.add_argument("--no-corrections", action="store_true", help="Load the file's seats as they are.")
        parser.add_argument("--batch-size", type=int, default=10_000,
                            help="Rows per COPY write on PostgreSQL, per bulk_create batch elsewhere "
                                 "(default: %(default)s).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar on stderr.")

    def handle(self, *args, **options):
        data, files = shared_data_dir(), SET_FILES[options["boundary_set"]]
        path = options["path"] or data / files[options["kind"] or "postcodes"]
        if not path.is_file():
            raise CommandError(f"No such file {path}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        corrections = None
        if not options["no_corrections"]:
            corrections = options["corrections"] or (data / files["corrections"] if files["corrections"] else None)
            if corrections is not None and not corrections.is_file():
                raise CommandError(f"--corrections: no such file {corrections}")
        progress = not options["no_progress"]
        try:
            kind = options["kind"] or postcode_file_kind(path)
            if kind == "districts":
                report = districts_import(path=path, boundary_set=options["boundary_set"], progress=progress)
            else:
                report = postcodes_import(path=path, boundary_set=options["boundary_set"], corrections=corrections,
                                          batch_size=options["batch_size"], progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(report.summary())
        self.stdout.write(self.style.SUCCESS(
            f"{kind.capitalize()} of the {options['boundary_set']} set imported from {path.name}."))
