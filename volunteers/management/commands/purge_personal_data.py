from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.errors import DomainError
from volunteers import privacy


class Command(BaseCommand):
    help = (
        "Anonymise volunteers whose every session ended (and whose availability and sign-up are) more than DAYS "
        "days ago: names, numbers, emails, full postcodes, availability, private links and the texts sent to them "
        "are removed; their past bookings stay, anonymous, so coverage per seat still counts them. Twilio webhook "
        "receipts and login attempts and records older than DAYS are deleted. Running it again changes nothing. The beat task volunteers.personal_data_purge does the same with "
        "PERSONAL_DATA_RETENTION_DAYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", dest="older_than", type=int, metavar="DAYS",
                            default=settings.PERSONAL_DATA_RETENTION_DAYS,
                            help="Days since the volunteer's last session ended (default: "
                                 f"PERSONAL_DATA_RETENTION_DAYS, now {settings.PERSONAL_DATA_RETENTION_DAYS}).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only count the volunteers who would be anonymised; change nothing.")

    def handle(self, *args, older_than: int, dry_run: bool, **options):
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days.")
        try:
            cutoff = privacy.retention_cutoff(older_than_days=older_than)
            if dry_run:
                counts = privacy.personal_data_purge_all(older_than_days=older_than, dry_run=True)
                count = counts.pop("volunteers")
                self.stdout.write(f"Dry run: {count} volunteer(s) last active before {cutoff:%Y-%m-%d %H:%M} "
                                  f"would be anonymised{_others(counts, 'would delete')}. Nothing changed.")
                return

            def progress(ids):
                return tqdm(ids, desc="Anonymising", unit="volunteer", file=self.stderr, disable=not ids)

            counts = privacy.personal_data_purge_all(older_than_days=older_than, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        count = counts.pop("volunteers")
        self.stdout.write(self.style.SUCCESS(
            f"Anonymised {count} volunteer(s) last active before {cutoff:%Y-%m-%d %H:%M}{_others(counts, 'deleted')}."))


def _others(counts: dict[str, int], verb: str) -> str:
    """"; deleted 3 login records, 0 login attempts older than that": what the other apps purged."""
    if not counts:
        return ""
    return f"; {verb} " + ", ".join(f"{n} {label}" for label, n in counts.items()) + " older than that"
