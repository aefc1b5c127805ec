"""Which strings are translated, and how to tell that the catalogues are complete (docs/languages.md).

Volunteers' and hosts' pages, texts, emails and calendars are in every language of settings.LANGUAGES; the
coordinators' pages, the admin, the API's own field errors and the management commands stay English (their
files are left out of the extraction below)."""

import gettext
import re
import subprocess
import tempfile
from pathlib import Path

CATALOGUE_LANGUAGES = ["cy"]

# Left out of makemessages: English-only areas (coordinators, admin, API plumbing, imports, exports, demo data) and
# what is not the app (tests, benchmarks, tools). Their strings may still be marked; they just have no Welsh.
MESSAGES_IGNORE = [
    "tests/*", "bench/*", "tools/*", "staticfiles/*", "var/*", "docs/*",
    "web/coordinators/*", "web/templates/web/coordinators/*", "web/templatetags/coordinator_tags.py",
    "*/admin.py", "*/management/*", "*/migrations/*", "*/api.py", "*/api_urls.py", "*/serializers.py",
    "*/exports.py", "*/exports_api.py", "*/privacy_api.py", "*/templates/*/admin/*",
    "core/api_errors.py", "core/parsers.py", "core/schema.py", "core/pagination.py", "core/permissions.py",
    "seats/importers/*", "seats/targets.py", "seats/scopes.py",
    "dispatch/demo/*", "dispatch/demo.py", "notify/webhooks/*",
    "dispatch/services/assignment.py", "dispatch/services/boundaries.py",
]

_ENTRY = re.compile(r"\n\n(?=#|msgid|msgctxt)")


def _unquote(lines: list[str]) -> str:
    return "".join(line.strip()[1:-1] for line in lines).encode().decode("unicode_escape").encode(
        "latin-1").decode() if lines else ""


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (list), fuzzy, obsolete. Enough of the format for
    what makemessages writes (no need for polib)."""
    entries = []
    for block in _ENTRY.split(path.read_text(encoding="utf-8").strip()):
        entry = {"msgid": None, "msgid_plural": None, "msgctxt": None, "msgstr": [], "fuzzy": False,
                 "obsolete": False}
        current: list[str] | None = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
                continue
            if line.startswith("#,") and "fuzzy" in line:
                entry["fuzzy"] = True
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                current.append(line)
                continue
            current = [rest]
            if keyword in ("msgid", "msgid_plural", "msgctxt"):
                entry[keyword] = current
            elif keyword.startswith("msgstr"):
                entry["msgstr"].append(current)
        if entry["msgid"] is None:
            continue
        for key in ("msgid", "msgid_plural", "msgctxt"):
            entry[key] = _unquote(entry[key]) if entry[key] is not None else None
        entry["msgstr"] = [_unquote(lines) for lines in entry["msgstr"]]
        entries.append(entry)
    return entries


def catalogue_problems(locale_dir: Path, *, compiled_dir: Path) -> list[str]:
    """What keeps the catalogues in `locale_dir` from being complete: each string without a translation (empty or
    fuzzy, any plural form), and each compiled .mo in `compiled_dir` that says other than its .po."""
    problems = []
    for language in CATALOGUE_LANGUAGES:
        po = locale_dir / language / "LC_MESSAGES" / "django.po"
        for entry in po_entries(po):
            if entry["obsolete"] or entry["msgid"] == "":
                continue
            if entry["fuzzy"] or not entry["msgstr"] or not all(entry["msgstr"]):
                state = "fuzzy" if entry["fuzzy"] else "untranslated"
                problems.append(f"{language}: {state}: {entry['msgid']!r}")
        mo = compiled_dir / language / "LC_MESSAGES" / "django.mo"
        if not mo.exists() or _mo_catalog(mo) != _mo_catalog(_compile(compiled_dir / language / "LC_MESSAGES" /
                                                                      "django.po")):
            problems.append(f"{language}: {mo} is not compiled from its django.po: run `make messages`")
    return problems


def _compile(po: Path) -> Path:
    out = Path(tempfile.mkdtemp()) / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(out), str(po)], check=True)  # noqa: S603, S607
    return out


def _mo_catalog(mo: Path) -> dict:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # noqa: SLF001 - the parsed catalogue itself
