"""Shared pieces of the reference-data importers: reading CSV (plain or gzip), progress, the report."""

import contextlib
import csv
import gzip
import io
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext
from tqdm import tqdm

from core.env import env_str
from core.errors import InvalidInput

GZIP_MAGIC = b"\x1f\x8b"
EXAMPLES_PER_REASON = 10
ONS_CODE_RE = re.compile(r"^[ENSW]\d{8}$")
# Fast paths for the two spellings the source uses ("SW11 1AA", "YO901GA"); both are strict
# subsets of what postcode_normalise accepts, which handles everything else.
_CANONICAL_RE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}\Z")
_COMPACT_RE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2}\Z")
# Long party names that do not fit Seat.winner/runner_up (max 20 characters).
PARTY_ABBREVIATIONS = {"National Health Action Party": "NHA"}


def shared_data_dir() -> Path:
    """The reference data directory: $FRONTROOM_SHARED_DATA, ../shared/data beside the repo, or /work/shared/data."""
    configured = env_str("FRONTROOM_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(settings.BASE_DIR).parent / "shared" / "data", Path("/work/shared/data")]
    return next((path for path in candidates if path.is_dir()), candidates[0])


@dataclass
class ImportReport:
    """What an import did: named counts, and rejected rows by reason with a few examples of each."""

    counts: Counter = field(default_factory=Counter)
    rejects: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    method: str = ""

    def reject(self, source: str, line: int, key: str, reason: str) -> None:
        self.rejects[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(f"{source}:{line} {key!r}")

    @property
    def rejected(self) -> int:
        return sum(self.rejects.values())

    def summary(self) -> str:
        lines = [", ".join(f"{name} {value}" for name, value in self.counts.items())]
        if self.method:
            lines.append(f"method: {self.method}")
        lines.append(f"rejected rows: {self.rejected}")
        for reason, count in self.rejects.most_common():
            lines.append(f"  {reason}: {count}")
            lines.extend(f"    {example}" for example in self.examples.get(reason, []))
            if count > len(self.examples.get(reason, [])):
                lines.append(f"    … and {count - len(self.examples[reason])} more")
        return "\n".join(lines)


class ImportRejected(InvalidInput):
    """Raised in strict mode when any row was rejected; the transaction has been rolled back."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{report.rejected} rows rejected; nothing was imported.", code="import_rejected")
        self.report = report


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@contextlib.contextmanager
def _open_csv(path: Path) -> Iterator[tuple[csv.reader, list[str], io.BufferedReader]]:
    """Open a plain or gzipped CSV (told apart by the magic bytes); yield the reader, header keys and raw file."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        with contextlib.ExitStack() as stack:
            binary = stack.enter_context(gzip.GzipFile(fileobj=raw)) if gzipped else raw
            text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
            reader = csv.reader(text)
            header = [_header_key(name) for name in next(reader, [])]
            yield reader, header, raw


def _columns(header: list[str], path: Path, wanted: dict[str, tuple[str, ...]], optional=()) -> dict[str, int | None]:
    """Map each wanted column to its index, accepting any of its aliases; raise naming the missing ones."""
    found = {name: next((header.index(a) for a in aliases if a in header), None) for name, aliases in wanted.items()}
    missing = [name for name, index in found.items() if index is None and name not in optional]
    if missing:
        raise InvalidInput(gettext("%(name)s has no column for %(names)s (header: %(names2)s).") % {"name": path.name, "names": ', '.join(missing), "names2": ', '.join(header)},
                           code="bad_file", fields={"path": [gettext("Missing columns: %(names)s.") % {"names": ', '.join(missing)}]})
    return found


def _rows(path: Path, progress: bool, required: dict | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header key: value}) for each data row, with a progress bar over the file."""
    with _open_csv(path) as (reader, header, raw), _bar(raw, path, progress) as tick:
        _columns(header, path, required or {})
        for row in reader:
            yield reader.line_num, dict(zip(header, row, strict=False))
            tick()


@contextlib.contextmanager
def _bar(raw: io.BufferedReader, path: Path, enabled: bool):
    """A tqdm bar over the bytes read from `raw` (compressed bytes for gzip); yields a cheap tick()."""
    total = Path(path).stat().st_size
    with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, file=sys.stderr, disable=not enabled) as bar:
        def tick() -> None:
            bar.update(raw.tell() - bar.n)

        yield tick if enabled else (lambda: None)
        bar.update(total - bar.n)


def _float(value: str | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _coordinates(row: dict[str, str], pairs: tuple[tuple[str, str], ...]) -> tuple[float, float] | None:
    """The first (lat, lng) pair from the row that parses and lies on the globe."""
    for lat_key, lng_key in pairs:
        lat, lng = _float(row.get(lat_key)), _float(row.get(lng_key))
        if lat is not None and lng is not None and -90 <= lat <= 90 and -180 <= lng <= 180:
            return lat, lng
    return None


# --- Seats -----------------------------------------------------------------------------------
