"""The bent side of bench/readable.py: the pages' form renderer and three volunteer tags as they were before
issue 26's "Readable again" (commit 2d33e0a), HTML built as Python strings for CPU per request. Kept here, outside
the app, so the figure in BENCHMARKS.md ("Readable again") can be re-run beside the ordinary Django versions the
app now uses; nothing in the app imports this module.
"""

import html

from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from web.dates import day_in_words
from web.priority import priority_in_short, priority_label
from web.templatetags.volunteer_tags import km, places, slot_when

WIDGETS = "django/forms/widgets/"
# Each of these is `{% include "django/forms/widgets/input.html" %}`.
INPUT_TEMPLATES = frozenset(f"{WIDGETS}{name}.html" for name in (
    "input", "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search",
    "tel", "color", "checkbox"))
SELECT_TEMPLATE = f"{WIDGETS}select.html"
OPTION_TEMPLATE = f"{WIDGETS}select_option.html"


def _text(value) -> str:
    """`{{ value }}` in an autoescaping template (render_value_in_context)."""
    if type(value) is str:  # most values: no lazy string, date or number to localize, nothing marked safe
        return html.escape(value)
    value = localize(template_localtime(value))
    if not issubclass(type(value), str):
        value = str(value)
    return conditional_escape(value)


def _formatted(value) -> str:
    """`{{ value|stringformat:'s' }}`: the filter is is_safe, so safe input stays unescaped."""
    if type(value) is str:
        return html.escape(value)
    return str(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name alone."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items() if value is not False
    )


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{_formatted(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _select(widget: dict) -> str | None:
    """select.html with select_option.html per option; None if an option has a template of its own."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append(f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                         f'{_text(option["label"])}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        markup = None
        if template_name in INPUT_TEMPLATES:
            markup = _input(context["widget"])
        elif template_name == SELECT_TEMPLATE:
            markup = _select(context["widget"])
        if markup is None:
            return super().render(template_name, context, request=request)
        return markup  # Widget._render marks it safe, as it does the templates' output


# The three tags (web/templatetags/volunteer_tags.py at 2d33e0a).

def field_row(field) -> str:
    """A form field of the volunteers' pages: its label, hint, error and input, the error and hint named by the
    input's aria-describedby (Django sets it). A checkbox comes before its label. A tag rather than an included
    template: each of the template's dozen lookups on a bound field cost more than the input itself."""
    errors = field.errors
    said = _("Error:")  # outside the f-string: xgettext does not look inside one
    error = (f'<p class="field-error" id="{escape(field.auto_id)}_error"><span class="visually-hidden">'
             f'{escape(said)} </span>{" ".join(conditional_escape(e) for e in errors)}</p>') if errors else ""
    hint = (f'<span class="hint" id="{escape(field.auto_id)}_helptext">{conditional_escape(field.help_text)}</span>'
            if field.help_text else "")
    label = f'<label for="{escape(field.id_for_label)}">{conditional_escape(field.label)}</label>'
    has_error = " has-error" if errors else ""
    if field.widget_type == "checkbox":
        markup = (f'<div class="field field-check{has_error}">\n{error}\n<div class="check">{field}{label}</div>\n'
                f'{hint}\n</div>\n')
    else:
        markup = f'<div class="field{has_error}">\n{label}\n{hint}\n{error}\n{field}\n</div>\n'
    return mark_safe(markup)  # noqa: S308 - every value in it was escaped above; the input is the form's own HTML


def slot_rows(session, slots, book_query: str, ticks: bool = False) -> str:
    """The session page's slot list items: "Sat 6 Dec, 10:00-12:00 · 3 places left" and a button to the slot's
    booking form ("Book", or "Join the waitlist" when it is full), its accessible name saying which slot. Built
    here for the cards' reason: a template loop cost about 0.2 ms per slot."""
    book_url = escape(reverse("volunteer:book", args=[session.pk]))
    query = f"&amp;{html.escape(book_query)}" if book_query else ""
    book, join = html.escape(_("Book")), html.escape(_("Join the waitlist"))  # xgettext skips f-strings' insides
    rows = []
    for slot in slots:
        when, left = html.escape(slot_when(slot.starts_at, slot.ends_at)), slot.places_left
        # A free slot can be ticked, to book several with one form and one code (the session page's form).
        tick = (f'<input type="checkbox" name="slot" value="{slot.pk}" id="tick-{slot.pk}">'
                f'<label for="tick-{slot.pk}">{when}&nbsp;· {html.escape(places(left))}</label>' if left and ticks
                else f'<span>{when}&nbsp;· {html.escape(places(left))}</span>')
        rows.append(
            f'<li class="slot-row">{tick}\n'
            f'<a class="button{"" if left else " secondary"}" href="{book_url}?slot={slot.pk}{query}">'
            f'{book if left else join}<span class="visually-hidden"> {when}</span>'
            '</a></li>')
    return mark_safe("".join(rows))  # noqa: S308 - every value in it was escaped above


def _url_maker(name: str):
    """reverse(name, args=[id]) for many ids at the cost of one reverse(): the URL around a placeholder id."""
    placeholder = "2147483647"
    before, after = escape(reverse(name, args=[placeholder])).split(placeholder)
    return lambda pk: f"{before}{pk}{after}"


def session_cards(sessions: list[dict], postcode_query: str, seats: dict | None = None) -> str:
    """The results page's list items, one card per session row of sessions_ranked_near: the title, why its seat
    matters ("Top priority: won by 15 votes", from `seats` by ONS code), the area, and each slot in plain words
    ("Tomorrow, 10:00-12:00 · 3 places left · 1.8 km") linking to its booking form. Built here rather than in a
    template loop: the page has dozens of slots, and words, URLs and the time zone are looked up once per page,
    not once per slot (each lookup goes through a thread-local; the page spent about 1 ms in them)."""
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


