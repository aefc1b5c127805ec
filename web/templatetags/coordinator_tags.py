"""Filters of the coordinators' pages: what a coordinator sees of a volunteer's number and texts."""

import re

from django import template
from django.utils.translation import gettext_lazy as _

from volunteers import privacy

register = template.Library()

_MANAGE_LINK = re.compile(r"(/[bn]/)[A-Za-z0-9_\-]{8,}")  # a booking's private link, a sign-up's
_TOKEN = re.compile(r"\b[A-Za-z0-9_\-]{24,}\b")


@register.filter
def mask_phone(number: str) -> str:
    """+447400123456 -> +44 7••• •••456 (volunteers.privacy.mask_phone, as the admin shows it)."""
    return privacy.mask_phone(str(number or "")) or "–"


@register.filter
def redact_links(body: str) -> str:
    """A text with its private links' tokens hidden: a coordinator reading it must not take over the booking."""
    return _TOKEN.sub("…", _MANAGE_LINK.sub(r"\1…", str(body or "")))


@register.filter
def widget(field):
    """The field's widget with aria-invalid and aria-describedby pointing at its error and hint."""
    attrs, described = {}, []
    if field.help_text:
        described.append(f"{field.auto_id}-hint")
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


_REASONS = {
    "no_neighbouring_slot_within_travel_limit": _("no slot at that time in a neighbouring seat within their travel limit"),
    "neighbouring_slots_full": _("the neighbouring slots are full"),
    "no_longer_waitlisted": _("no longer waitlisted"),
    "overlapping_booking": _("already booked at that time"),
    "slot_unavailable": _("the slot is no longer open"),
    "slot_full": _("the slot filled up"),
    "already_booked": _("already booked on that slot"),
    "lift_driver_not_booked": _("their lift's driver could not be booked there"),
    "no_availability_in_period": _("no availability in the period"),
    "no_slot_within_travel_limit": _("no slot within their travel limit"),
    "no_slot_at_available_times": _("no slot at the times they are free"),
    "slots_filled_by_better_matches": _("the slots went to better matches"),
}


@register.filter
def reason_text(code: str) -> str:
    """A dispatch reason code in words (unknown codes are shown as they are)."""
    return _REASONS.get(code, str(code).replace("_", " "))


@register.filter
def first_name(name: str) -> str:
    """A volunteer's first name and initial ("Sam E."): enough to recognise, less to expose."""
    parts = str(name or "").split()
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."
