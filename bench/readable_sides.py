"""The sides of bench/readable.py that the app does not hold (issue 26, "Readable again").

The app keeps, for each part, the side the measurement chose (BENCHMARKS.md, "Readable again"): Django's widget
templates and two inclusion tags (`field_row`, `slot_rows`) went back to ordinary Django; the form renderer
(web/form_renderer.py) and the results cards (`session_cards`) stayed bent. Here are the others, so the figure
can be re-run: the bent `field_row` and `slot_rows` as they were at 2d33e0a (HTML built as Python strings), and
the results cards as an ordinary inclusion tag over a template. Nothing in the app imports this module.
"""

import html

from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from web.dates import day_in_words
from web.priority import priority_in_short, priority_label
from web.templatetags.volunteer_tags import places, slot_when

# Bent: web/templatetags/volunteer_tags.py at 2d33e0a.

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


# Ordinary: the results cards from a template, with two small tags of their own.

CARDS_TEMPLATE = """{% load i18n volunteer_tags %}{% for row in sessions %}{% url "volunteer:book" row.id as book_url %}
<li class="card"><h2><a href="{% url "volunteer:session" row.id %}?{{ postcode_query }}">{{ row.title }}</a></h2>
<p class="priority{% if row.seat.priority <= 2 %} top{% endif %}">{% seat_in_short row.seat seats %}</p>
<p class="meta">{{ row.seat.name }}&nbsp;· {% blocktranslate with district=row.postcode_district %}{{ district }} area{% endblocktranslate %}</p>
<ul class="slots">
{% for slot in row.slots %}<li><a href="{{ book_url }}?slot={{ slot.id }}&amp;{{ postcode_query }}">{% slot_when_near slot.starts_at slot.ends_at %}</a>&nbsp;· {{ slot.places_left|places }}&nbsp;· {{ row.distance_km|km }}</li>
{% endfor %}</ul></li>
{% endfor %}"""


def cards_template():
    """CARDS_TEMPLATE compiled by the project's engine (an inclusion tag takes a Template as its template)."""
    return engines["django"].from_string(CARDS_TEMPLATE).template


def slot_when_near(starts_at, ends_at) -> str:
    """slot_when with the day as people say it: "Tomorrow, 10:00-12:00" (web.dates.day_in_words)."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if start.date() != end.date():
        return slot_when(start, end)
    return _("%(day)s, %(start)s-%(end)s") % {
        "day": day_in_words(start.date(), timezone.localdate()), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def seat_in_short(seat: dict, seats: dict) -> str:
    """A card's line on why its seat matters ("Top priority: won by 15 votes"): from the Seat in `seats` by ONS
    code when the page read it, else the priority alone."""
    known = seats.get(seat["ons_code"]) if seats else None
    return priority_in_short(known) if known is not None else priority_label(seat["priority"])


def session_cards(sessions: list[dict], postcode_query: str, seats: dict | None = None) -> dict:
    """The results page's list items, one card per session row of sessions_ranked_near: the title, why its seat
    matters, the area, and each slot in plain words linking to its booking form (CARDS_TEMPLATE)."""
    return {"sessions": sessions, "postcode_query": postcode_query, "seats": seats}
