"""Write the consent ledger (every grant and withdrawal: volunteers.consent_ledger) as CSV, for an ICO request."""

from django.core.management.base import BaseCommand

from volunteers.consent_ledger import ledger_csv_write


class Command(BaseCommand):
    help = "Write the consent ledger as CSV (to a file, or to standard output)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="A file to write; standard output if left out.")
        parser.add_argument("--volunteer", type=int, action="append", dest="volunteers",
                            help="Only this volunteer's rows (repeat for several).")

    def handle(self, *args, output=None, volunteers=None, **options):
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                count = ledger_csv_write(out, volunteer_ids=volunteers)
        else:
            count = ledger_csv_write(self.stdout, volunteer_ids=volunteers)
        self.stderr.write(f"{count} ledger rows written.")
