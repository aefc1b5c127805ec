"""The campaign's own target list: a CSV of seats with the priority the campaign gives them.

Columns: ons_code, priority (1-5, 1 the most important), optionally target (true/false) and note. The file
is the whole list: a seat missing from it is no longer on the list (its priority falls back to marginality,
or stays with a coordinator's override). Every row is checked before anything is written; one bad row and
nothing changes.
"""

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.models import Seat
from seats.services import seat_effective_priority

MAX_BYTES = 1_000_000
MAX_ERRORS_SHOWN = 50
REQUIRED_COLUMNS = ("ons_code", "priority")
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
NOTE_MAX = Seat._meta.get_field("target_note").max_length


@dataclass(frozen=True)
class TargetRow:
    ons_code: str
    priority: int
    target: bool | None
    note: str


@dataclass
class TargetListResult:
    listed: int = 0
    cleared: int = 0
    changes: list[dict] = field(default_factory=list)  # {"seat", "name", "before", "after"} where priority moved

    def as_dict(self) -> dict:
        return {"listed": self.listed, "cleared": self.cleared, "priority_changed": len(self.changes),
                "changes": self.changes}


def _error(row: int, column: str, message: str) -> str:
    return gettext("Row %(row)d, column %(column)s: %(message)s") % {"row": row, "column": column, "message": message}


def target_list_parse(*, data: bytes) -> list[TargetRow]:
    """The rows of a target-list CSV, or InvalidInput with fields {"file": [one message per bad row and column]}."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(gettext("The file is larger than 1 MB."), code="too_large",
                           fields={"file": [gettext("The file is larger than 1 MB.")]})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(gettext("The file is not UTF-8 text."), code="not_utf8",
                           fields={"file": [gettext("Save the file as CSV UTF-8 and try again.")]}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(gettext("The file has no %(columns)s column.") % {"columns": ", ".join(missing)},
                           code="missing_column", fields={"file": [
                               _error(1, name, gettext("missing from the header.")) for name in missing]})
    reader.fieldnames = header
    known = set(Seat.objects.values_list("pk", flat=True))
    errors: list[str] = []
    rows: list[TargetRow] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            errors.append(_error(number, "-", gettext("more cells than the header has columns.")))
            continue
        values = {key: (value or "").strip() for key, value in raw.items()}
        if not any(values.values()):
            continue  # a blank line, as spreadsheets leave at the end
        row_ok = True
        code = values.get("ons_code", "").upper()
        if not code:
            errors.append(_error(number, "ons_code", gettext("empty.")))
            row_ok = False
        elif code not in known:
            errors.append(_error(number, "ons_code", gettext("no seat %(code)s.") % {"code": code[:20]}))
            row_ok = False
        elif code in seen:
            errors.append(_error(number, "ons_code", gettext("%(code)s is already on row %(row)d.")
                                 % {"code": code, "row": seen[code]}))
            row_ok = False
        else:
            seen[code] = number
        raw_priority = values.get("priority", "")
        priority = int(raw_priority) if raw_priority.isdigit() and len(raw_priority) < 3 else None
        if priority is None or not 1 <= priority <= 5:
            errors.append(_error(number, "priority", gettext("must be a whole number from 1 to 5 (got “%(value)s”).")
                                 % {"value": raw_priority[:20]}))
            row_ok = False
        raw_target = values.get("target", "").lower()
        target = True if raw_target in TRUE else False if raw_target in FALSE else None
        if raw_target and target is None:
            errors.append(_error(number, "target", gettext("must be true or false (got “%(value)s”).")
                                 % {"value": raw_target[:20]}))
            row_ok = False
        note = values.get("note", "")
        if len(note) > NOTE_MAX:
            errors.append(_error(number, "note", gettext("longer than %(max)d characters.") % {"max": NOTE_MAX}))
            row_ok = False
        if row_ok:
            rows.append(TargetRow(code, priority, target, note))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(gettext("… and %(n)d more.") % {"n": len(errors) - MAX_ERRORS_SHOWN})
        raise InvalidInput(gettext("Nothing was changed: %(n)d problem(s) in the file.") % {"n": len(errors)},
                           code="bad_rows", fields={"file": shown})
    if not rows:
        raise InvalidInput(gettext("The file lists no seats."), code="empty", fields={"file": [gettext("No rows.")]})
    return rows


@transaction.atomic
def target_list_apply(*, rows: list[TargetRow]) -> TargetListResult:
    """Make `rows` the target list: listed seats take their priority (and target flag and note when given),
    every other seat leaves the list; effective priorities are recomputed. One transaction; idempotent."""
    listed = {row.ons_code: row for row in rows}
    result = TargetListResult(listed=len(listed))
    changed = []
    for seat in Seat.objects.select_for_update().order_by("pk"):
        row = listed.get(seat.pk)
        before = (seat.target_list_priority, seat.is_target, seat.target_note, seat.priority)
        if row is None:
            if seat.target_list_priority is None and not seat.target_note:
                continue
            seat.target_list_priority, seat.target_note = None, ""
            result.cleared += 1
        else:
            seat.target_list_priority, seat.target_note = row.priority, row.note
            if row.target is not None:
                seat.is_target = row.target
        seat.priority = seat_effective_priority(computed=seat.computed_priority, override=seat.priority_override,
                                                is_target=seat.is_target, listed=seat.target_list_priority)
        if (seat.target_list_priority, seat.is_target, seat.target_note, seat.priority) != before:
            changed.append(seat)
            if seat.priority != before[3]:
                result.changes.append({"seat": seat.pk, "name": seat.name, "before": before[3], "after": seat.priority})
    Seat.objects.bulk_update(changed, ["target_list_priority", "target_note", "is_target", "priority"], batch_size=500)
    return result
