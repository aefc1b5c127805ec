"""Dispatch settings with their defaults (config/settings.py may set each from the environment)."""

from django.conf import settings


def overflow_auto() -> bool:
    """OVERFLOW_AUTO: overflow a slot as soon as a waitlist forms on it (after commit). The sweep runs anyway."""
    return bool(getattr(settings, "OVERFLOW_AUTO", True))


def overflow_delay_seconds() -> int:
    """OVERFLOW_DELAY_SECONDS: wait this long after a waitlisting before overflowing (0: at once)."""
    return int(getattr(settings, "OVERFLOW_DELAY_SECONDS", 0))


def overflow_max_rings() -> int:
    """OVERFLOW_MAX_RINGS: how far overflow looks: 1 = adjacent seats, 2 = their neighbours too."""
    return int(getattr(settings, "OVERFLOW_MAX_RINGS", 2))


def nearest_k() -> int:
    """DISPATCH_NEAREST_K: arcs kept per volunteer in the assignment graph."""
    return int(getattr(settings, "DISPATCH_NEAREST_K", 10))
