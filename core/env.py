"""Typed helpers that read settings from the environment.

A malformed value raises ImproperlyConfigured at start-up rather than failing later.
Any variable may instead be given as ``<NAME>_FILE`` pointing at a file (Docker secrets).
"""

import os
from datetime import time

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_time(name: str, default: str) -> time:
    """A time of day given as HH:MM, such as "21:00"."""
    raw = env_str(name, default)
    try:
        hours, minutes = raw.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be HH:MM, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_list(name: str, default: list[int], *, length: int | None = None) -> list[int]:
    """Whole numbers >= 0 separated by commas, such as "40,25,12,4,0"; `length` of them when given."""
    raw = env_list(name, [str(item) for item in default])
    try:
        values = [int(item) for item in raw]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be whole numbers separated by commas, got {raw!r}") from exc
    if any(value < 0 for value in values) or (length is not None and len(values) != length):
        raise ImproperlyConfigured(f"{name} must be {length or 'some'} whole numbers >= 0, got {raw!r}")
    return values


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_OFF = {"off", "none", ""}


def parse_rates(raw: str) -> tuple[tuple[int, int], ...]:
    """"30/h" -> ((30, 3600),); "30/h,100/d" -> two windows, both enforced; "100/5m" -> ((100, 300),); "off" -> ()."""
    if raw.strip().lower() in _OFF:
        return ()
    rates = []
    for part in raw.split(","):
        try:
            count, period = part.strip().split("/")
            unit = period.strip()[-1].lower()
            multiplier = int(period.strip()[:-1] or 1)
            rate = (int(count), multiplier * _PERIODS[unit])
        except (ValueError, KeyError, IndexError) as exc:
            raise ImproperlyConfigured(
                f"A rate limit is 'count/period' (s, m, h or d), several joined by commas, or 'off'; "
                f"got {raw!r}") from exc
        if rate[0] < 0 or rate[1] < 1:  # "0/h" refuses everything: an emergency brake
            raise ImproperlyConfigured(f"A rate limit needs a count of 0 or more and a period of at least 1, "
                                       f"got {raw!r}")
        rates.append(rate)
    return tuple(rates)


def env_rate(name: str, default: str) -> str:
    """A rate limit such as "30/h,100/d" (see parse_rates), checked at start-up."""
    raw = env_str(name, default) or ""
    try:
        parse_rates(raw)
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc
    return raw.strip()
