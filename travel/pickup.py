"""A pickup point's name must be a public place ("Hendon Central station", "Tesco car park, Brent Cross"), never
a home: names that read like a house address are refused (docs/travel.md)."""

import re

from django.utils.translation import gettext

# "12 Acacia Avenue", "Flat 3", "3a Mill Lane": a house number before a street word, or a flat or house number.
_HOME = re.compile(
    r"\b(flat|apartment|apt|house no)\b|\b\d+[a-z]?\s+(?:[\w'-]+\s+){0,3}?(road|rd|street|st|avenue|ave|lane|ln|"
    r"close|drive|dr|way|gardens|gdns|crescent|cres|grove|terrace|court|place|mews|walk|hill|rise)\b",
    re.IGNORECASE)


def pickup_label_check(label: str) -> str | None:
    """Why `label` cannot name a pickup point, or None."""
    label = (label or "").strip()
    if not label:
        return gettext("Name the public place, like a station or a car park.")
    if len(label) > 60:
        return gettext("At most 60 characters.")
    if _HOME.search(label):
        return gettext("A pickup point must be a public place, never a home address.")
    return None
