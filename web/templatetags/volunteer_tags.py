"""Plain-words formatting for the volunteers' pages (no rule here: numbers and times as people say them)."""

import html

from django import template
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from web.dates import day_in_words
from web.priority import priority_in_short, priority_label, priority_why

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
        return _("%(start)s to %(end)s") % {"start": dateformat.format(start, "D j M, H:i"),
                                            "end": dateformat.format(end, "D j M, H:i")}
    return _("%(day)s, %(start)s-%(end)s") % {
        "day": dateformat.format(start, "D j M"), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


@register.filter
def places(places_left: int) -> str:
    """"3 places left", "1 place left", or "full: waitlist open"."""
    if places_left > 0:
        return ngettext("%(places)d place left", "%(places)d places left", places_left) % {"places": places_left}
    return _("full: waitlist open")


@register.simple_tag
def priority_badge(priority: int) -> str:
    if priority == 1:
        return format_html('<span class="badge ok">{}</span>', _("Top priority"))
    if priority == 2:
        return format_html('<span class="badge ok">{}</span>', _("High priority"))
    return format_html('<span class="badge">{}</span>', _("Priority %(priority)d") % {"priority": priority})


@register.simple_tag
def seat_reason(seat) -> str:
    """Why a seat matters and which rule set its priority: "Sheffield Hallam: won by 2,353 votes in 2024 (4.2%)."
    or "Sheffield Hallam: campaign target list." (web.priority.priority_why)."""
    text = _("%(name)s: %(why)s.") % {"name": seat.name, "why": priority_why(seat)}
    if seat.is_target:
        text += " " + _("A target seat.")
    return text


@register.simple_tag
def search_summary(count: int, exact: bool, radius: int, date_from=None, date_to=None) -> str:
    """The results page's one line: "12 sessions within 25 km", "More than 40 sessions within 25 km, from Sat 12
    Dec", "No sessions within 5 km, Sat 12 Dec to Sun 13 Dec"."""
    if count == 0:
        text = _("No sessions within %(radius)d km") % {"radius": radius}
    elif exact:
        text = ngettext("%(count)d session within %(radius)d km", "%(count)d sessions within %(radius)d km",
                        count) % {"count": count, "radius": radius}
    else:
        text = _("More than %(count)d sessions within %(radius)d km") % {"count": count, "radius": radius}
    def day(value) -> str:
        return dateformat.format(value, "D j M")

    if date_from and date_to:
        dates = (_("on %(day)s") % {"day": day(date_from)} if date_from == date_to
                 else _("%(start)s to %(end)s") % {"start": day(date_from), "end": day(date_to)})
    elif date_from:
        dates = _("from %(day)s") % {"day": day(date_from)}
    elif date_to:
        dates = _("until %(day)s") % {"day": day(date_to)}
    else:
        dates = _("any day")
    return f"{text}, {dates}"


@register.inclusion_tag("web/volunteer/_field.html")
def field_row(field) -> dict:
    """A form field of the volunteers' pages: its label, hint, error and input (web/volunteer/_field.html)."""
    return {"field": field}


@register.inclusion_tag("web/volunteer/_slot_rows.html")
def slot_rows(session, slots, book_query: str, ticks: bool = False) -> dict:
    """The session page's slot list items, each with a button to the slot's booking form
    (web/volunteer/_slot_rows.html)."""
    return {"session": session, "slots": slots, "book_query": book_query, "ticks": ticks}


def _url_maker(name: str):
    """reverse(name, args=[id]) for many ids at the cost of one reverse(): the URL around a placeholder id."""
    placeholder = "2147483647"
    before, after = escape(reverse(name, args=[placeholder])).split(placeholder)
    return lambda pk: f"{before}{pk}{after}"


@register.simple_tag
def session_cards(sessions: list[dict], postcode_query: str, seats: dict | None = None) -> str:
    """The results page's list items, one card per session row of sessions_ranked_near: the title, why its seat
    matters ("Top priority: won by 15 votes", from `seats` by ONS code), the area, and each slot in plain words
    ("Tomorrow, 10:00-12:00 · 3 places left · 1.8 km") linking to its booking form. Built here rather than in a
    template loop: the page has dozens of slots, and words, URLs and the time zone are looked up once per page,
    not once per slot (each lookup goes through a thread-local; the page spent about 1 ms in them). Kept after issue
    26's page cache by measurement (bench/readable.py, BENCHMARKS.md "Readable again"): the same cards from a
    template cost the results page 5.31 ms more, 23% of the election-weekend mix's CPU at the 27% of answers the
    cache serves, over the 5% bar."""
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    when_pattern = _("%(day)s, %(start)s-%(end)s")
    area_pattern = _("%(district)s area")
    session_url, book_url = _url_maker("volunteer:session"), _url_maker("volunteer:book")
    query = html.escape(postcode_query)
    seats = seats or {}
    days: dict = {}
    words: dict = {}

    def once(function, value) -> str:
        key = (function, value)
        if key not in words:
            words[key] = function(value)
        return words[key]

    def when(slot) -> str:
        start, end = slot["starts_at"].astimezone(tz), slot["ends_at"].astimezone(tz)
        if start.date() != end.date():
            return slot_when(start, end)
        if start.date() not in days:
            days[start.date()] = day_in_words(start.date(), today)
        return when_pattern % {"day": days[start.date()], "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}

    reasons: dict = {}

    def why(seat: dict) -> str:
        if seat["ons_code"] not in reasons:
            known = seats.get(seat["ons_code"])
            reasons[seat["ons_code"]] = (priority_in_short(known) if known is not None
                                         else priority_label(seat["priority"]))
        return reasons[seat["ons_code"]]

    cards = []
    for row in sessions:
        distance = html.escape(once(km, row["distance_km"]))
        slot_url = book_url(row["id"])
        slots = "".join(
            f'<li><a href="{slot_url}?slot={slot["id"]}&amp;{query}">{html.escape(when(slot))}</a>&nbsp;· '
            f'{html.escape(once(places, slot["places_left"]))}&nbsp;· {distance}</li>' for slot in row["slots"])
        area = html.escape(area_pattern % {"district": row["postcode_district"]})
        seat = row["seat"]
        top = " top" if seat["priority"] <= 2 else ""
        cards.append(
            f'<li class="card"><h2><a href="{session_url(row["id"])}?{query}">{html.escape(row["title"])}</a></h2>'
            f'<p class="priority{top}">{html.escape(why(seat))}</p>'
            f'<p class="meta">{html.escape(seat["name"])}&nbsp;· {area}</p><ul class="slots">{slots}</ul></li>')
    return mark_safe("\n".join(cards))  # noqa: S308 - every value in it was escaped above


@register.filter
def booking_state(booking) -> str:
    """A booking's state in a word or two, for the list of a phone's bookings (/my/)."""
    from volunteers.models import Booking, BookingEvent

    if booking.status == Booking.Status.CONFIRMED:
        if booking.proven_at is None:
            return _("Held: confirm it's your phone")
        if booking.approval == Booking.Approval.PENDING:
            return _("Waiting for the host")
        if booking.offer_expires_at is not None:  # volunteers.confirmations
            return _("Offered: take it by %(time)s") % {"time": f"{timezone.localtime(booking.offer_expires_at):%H:%M}"}
        return _("Booked")
    if getattr(booking, "ending_kind", None) == BookingEvent.Kind.UNCONFIRMED:  # volunteers.confirmations
        return _("Released (not confirmed in time)")
    return {
        Booking.Status.WAITLISTED: _("On the waitlist"), Booking.Status.PENDING: _("Waiting"),
        Booking.Status.CANCELLED: _("Not this time") if booking.approval == Booking.Approval.REFUSED else _("Cancelled"),
        Booking.Status.REDIRECTED: _("Moved"), Booking.Status.ATTENDED: _("You came"),
        Booking.Status.NO_SHOW: _("Missed"),
    }.get(booking.status, booking.get_status_display())


@register.filter
def party_words(size) -> str:
    """A booking's party in words: "A place for you" (1), "A place for you and 2 others" (3)."""
    others = max(0, int(size or 1) - 1)
    if not others:
        return _("A place for you")
    return ngettext("A place for you and %(count)s other", "A place for you and %(count)s others",
                    others) % {"count": others}
