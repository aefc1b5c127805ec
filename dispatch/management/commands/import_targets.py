"""manage.py import_targets FILE: replace the campaign's target list (docs/operations.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from dispatch.services.seats import target_list_import


class Command(BaseCommand):
    help = ("Replace the campaign's target list with a CSV of ons_code, priority (1-5), optional target (true/false) "
            "and note. Every row is checked first: one bad row and nothing changes.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            result = target_list_import(actor=None, data=data, filename=f"{file.name} (manage.py import_targets)")
        except DomainError as error:
            details = "\n".join(f"  {message}" for messages in error.fields.values() for message in messages)
            raise CommandError(f"{error.message}\n{details}") from None
        self.stdout.write(self.style.SUCCESS(
            f"Target list imported: {result.listed} seats listed, {result.cleared} taken off the list, "
            f"{len(result.changes)} priorities changed."))
        for change in result.changes[:20]:
            self.stdout.write(f"  {change['name']}: priority {change['before']} -> {change['after']}")
