"""`python manage.py messages` (`make messages`): the Welsh catalogue's round trip (docs/languages.md).

Extracts every marked string of the volunteers' and hosts' side into locale/cy/LC_MESSAGES/django.po (new strings
arrive with an empty translation; changed ones fuzzy), lists what has no Welsh yet, and compiles django.mo. With
--check it writes nothing and fails while a string has no Welsh or the .mo is out of date (the test suite runs it).
"""

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands import makemessages
from django.test.utils import override_settings

from core.catalogue import CATALOGUE_LANGUAGES, MESSAGES_IGNORE, catalogue_problems


class Command(BaseCommand):
    help = "Extract the strings to translate, list those without Welsh, compile the catalogues."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Change nothing; fail if a string has no translation or a .mo is stale.")

    def handle(self, *args, check: bool = False, **options):
        locale_dir = Path(settings.LOCALE_PATHS[0])
        if check:
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "locale"
                shutil.copytree(locale_dir, copy)
                self._extract(copy)
                problems = catalogue_problems(copy, compiled_dir=locale_dir)
            if problems:
                raise CommandError("\n".join(problems))
            self.stdout.write("Every string has its translation and the compiled catalogues are up to date.")
            return
        self._extract(locale_dir)
        call_command("compilemessages", locale=CATALOGUE_LANGUAGES, verbosity=0,
                     ignore=["tests", "bench", "tools", ".venv"])
        problems = catalogue_problems(locale_dir, compiled_dir=locale_dir)
        for problem in problems:
            self.stdout.write(problem)
        self.stdout.write(f"{len(problems)} to translate." if problems else "Nothing to translate.")

    def _extract(self, locale_dir: Path) -> None:
        with override_settings(LOCALE_PATHS=[locale_dir]):
            call_command(_Extract(locale_dir), locale=CATALOGUE_LANGUAGES, ignore_patterns=MESSAGES_IGNORE,
                         add_location="file", no_obsolete=True, verbosity=0)


class _Extract(makemessages.Command):
    """makemessages writing every string into `locale_dir`. Plain makemessages also adds the `locale/` of the
    working directory and writes each file's strings to the locale folder of its own tree: run from the project,
    the check would have updated the real django.po and checked an untouched copy."""

    def __init__(self, locale_dir: Path):
        super().__init__()
        self.target = str(locale_dir)

    def find_files(self, root):
        files = super().find_files(root)
        for found in files:
            found.locale_dir = self.target
        return files
