"""Plain-words formatting for the volunteers' pages (no rule here: numbers and times as people say them)."""

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def km(distance) -> str:
    """1.84 -> "1.8 km"; never "0.0 km" (distances are to a public point, rounded to 0.1 km)."""
    if distance is None:
        return ""
    return _("%(km)s km") % {"km": formats.number_format(max(0.1, round(float(distance), 1)), 1)}


@register.filter
def thousands(number) -> str:
    """2353 -> "2,353" in the active locale."""
    if number is None:
        return ""
    return formats.number_format(int(number), 0, force_grouping=True)


@register.filter
def pct(number) -> str:
    return "" if number is None else formats.number_format(float(number), 1)


@register.simple_tag
def slot_when(starts_at, ends_at) -> str:
    """"Sat 6 Dec, 10:00-12:00" in local time (the day and month names translated)."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if start.date() != end.date():
        return _("%(start)s to %(end)s") % {"start": formats.date_format(start, "D j M, H:i"),
                                            "end": formats.date_format(end, "D j M, H:i")}
    return _("%(day)s, %(start)s-%(end)s") % {
        "day": formats.date_format(start, "D j M"), "start": formats.time_format(start, "H:i"),
        "end": formats.time_format(end, "H:i"),
    }
