"""A sign-up's availability as people give it: days x parts of the day (morning, afternoon, evening).

The assignment and the suggestions read AvailabilityWindow rows (a start and an end); a choice is a part of one
day, and adjacent parts of a day become one window, so a slot from 12:00 to 14:00 fits "morning and afternoon".
The days offered are the next NEEDED_DAYS from today, local time; a part that has ended is not offered.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.errors import InvalidInput

# Local times: canvassers knock from mid-morning to early evening.
PARTS = {"morning": (time(9), time(13)), "afternoon": (time(13), time(17)), "evening": (time(17), time(21))}
PART_LABELS = {"morning": gettext_lazy("Morning"), "afternoon": gettext_lazy("Afternoon"),
               "evening": gettext_lazy("Evening")}

Choice = tuple[date, str]


def part_bounds(day: date, part: str) -> tuple[datetime, datetime]:
    start, end = PARTS[part]
    tz = timezone.get_current_timezone()
    return datetime.combine(day, start, tz), datetime.combine(day, end, tz)


def days_offered(*, now: datetime | None = None) -> list[date]:
    today = timezone.localdate(now or timezone.now())
    return [today + timedelta(days=offset) for offset in range(settings.NEEDED_DAYS)]


def choice_offered(choice: Choice, *, now: datetime | None = None) -> bool:
    """A part of one of the days offered that has not ended yet."""
    now = now or timezone.now()
    day, part = choice
    return part in PARTS and day in days_offered(now=now) and part_bounds(day, part)[1] > now


def choice_key(choice: Choice) -> str:
    """"2026-12-08:morning": the value a form sends for a choice."""
    return f"{choice[0].isoformat()}:{choice[1]}"


def choice_parse(key: str) -> Choice | None:
    day, _, part = str(key).partition(":")
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        return None
    return (parsed, part) if part in PARTS else None


def windows_from_choices(choices: Iterable[Choice], *, field: str = "when",
                         now: datetime | None = None) -> list[dict]:
    """The windows for a set of choices, adjacent parts of a day joined: [{"starts_at", "ends_at"}], sorted.
    Raises InvalidInput naming `field` when none is chosen or one is not offered (a day out of range, a part
    that has ended)."""
    now = now or timezone.now()
    chosen = sorted(set(choices), key=lambda choice: part_bounds(*choice))
    if not chosen:
        raise InvalidInput(gettext("Choose at least one time you are free."), code="no_availability",
                           fields={field: [gettext("Choose at least one.")]})
    if not all(choice_offered(choice, now=now) for choice in chosen):
        raise InvalidInput(gettext("Choose among the days and times offered."), code="not_offered",
                           fields={field: [gettext("Not one of the times offered.")]})
    windows: list[dict] = []
    for choice in chosen:
        start, end = part_bounds(*choice)
        if windows and windows[-1]["ends_at"] == start:
            windows[-1]["ends_at"] = end
        else:
            windows.append({"starts_at": start, "ends_at": end})
    return windows


def choices_from_windows(windows: Iterable[tuple[datetime, datetime]], *, now: datetime | None = None) -> set[Choice]:
    """The offered choices that lie wholly inside one of the windows (what a change form starts from)."""
    spans = list(windows)
    chosen = set()
    for day in days_offered(now=now):
        for part in PARTS:
            start, end = part_bounds(day, part)
            if any(starts_at <= start and end <= ends_at for starts_at, ends_at in spans):
                chosen.add((day, part))
    return chosen
