"""The after-the-knock links on a booking's private page (web.volunteer.aftercare): check in on the day, and
say how it went once the slot has ended."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from volunteers import aftercare

register = template.Library()


@register.simple_tag
def aftercare_links(booking, private: bool) -> str:
    """List items for the page's actions: "I'm here: check in" within the check-in window, "How did it go?" once
    the slot has ended (both only to whoever proved the phone, never to a link preview)."""
    if not private:
        return ""
    items = []
    if aftercare.check_in_open(booking):
        items.append(format_html('<li><a class="button" href="{}">{}</a></li>',
                                 reverse("volunteer:check_in", args=[booking.manage_token]), _("I'm here: check in")))
    if aftercare.feedback_open(booking):
        items.append(format_html('<li><a class="button" href="{}">{}</a></li>',
                                 reverse("volunteer:feedback", args=[booking.manage_token]), _("How did it go?")))
    return format_html("".join(["{}"] * len(items)), *items) if items else ""


@register.simple_tag(takes_context=True)
def slot_expected(context, slot) -> str:
    """"expected 6 of 8": the slot's learned turnout (volunteers.turnout) of its proven places, for rosters. Worked
    out once per page for every slot of the slot's session."""
    from volunteers.turnout import expected_turnout

    key = ("aftercare_expected", slot.session_id)
    if key not in context.render_context:
        context.render_context[key] = expected_turnout(
            slot_ids=list(slot.session.slots.values_list("pk", flat=True)))
    guess = context.render_context[key].get(slot.pk)
    if guess is None or not guess.booked:
        return ""
    return format_html('<span class="meta expected">{}</span>', _("expected %(expected)s of %(booked)s") % {
        "expected": guess.expected, "booked": guess.booked})


@register.inclusion_tag("web/aftercare/_seat_after.html", takes_context=True)
def seat_after(context, seat) -> dict:
    """The seat page's after-the-session totals, its over-booking and confirm-or-release settings (web.coordinators.aftercare)."""
    from volunteers.aftercare_report import seat_after_totals
    from volunteers.turnout import seat_expected_rates, seat_overbook_allowed

    return {"seat": seat, "totals": seat_after_totals(seat=seat.pk), "overbook": seat_overbook_allowed(seat.pk),
            "confirm_hours": settings.CONFIRM_DEADLINE_HOURS,
            "rate": round(100 * seat_expected_rates(seat_ids=[seat.pk])[seat.pk]), "csrf_token": context.get("csrf_token"),
            "request": context.get("request")}
