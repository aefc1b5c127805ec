"""Date fields of every page: a date picker that follows the browser's locale (en-GB shows and takes 06/12/2026),
and a text box that takes UK dates where the browser has no picker.

A type="date" input always sends (and must be given) an ISO date whatever the locale it shows; rendering the
value in the active language's format instead ("06/12/2026" under en-gb) would leave the picker empty.
"""

from datetime import date

from django import forms
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

EXAMPLE = "06/12/2026"
INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The placeholder shows only where the browser falls back to a text box.
        super().__init__(attrs={"placeholder": _("dd/mm/yyyy"), **(attrs or {})}, format="%Y-%m-%d")


class DateField(forms.DateField):
    """A day, typed or picked: ISO from a picker, or day/month/year (UK order) from a text box."""

    input_formats = INPUT_FORMATS
    default_error_messages = {"invalid": _("Enter a date, like 06/12/2026.")}
    widget = DateInput


def day_in_words(day: date, today: date) -> str:
    """A day as people say it: "Today", "Tomorrow", "This Saturday (12 Dec)" (later this week, Monday to Sunday),
    "Next Tuesday (15 Dec)" (next week), else "Sat 26 Dec". The date stays beside "this"/"next", which people
    read differently; any day before today is just its date."""
    ahead = (day - today).days
    if ahead == 0:
        return gettext("Today")
    if ahead == 1:
        return gettext("Tomorrow")
    short = dateformat.format(day, "j M")
    weeks_apart = (day.toordinal() - day.weekday() - (today.toordinal() - today.weekday())) // 7
    if ahead > 1 and weeks_apart == 0:
        return gettext("This %(weekday)s (%(date)s)") % {"weekday": dateformat.format(day, "l"), "date": short}
    if ahead > 1 and weeks_apart == 1:
        return gettext("Next %(weekday)s (%(date)s)") % {"weekday": dateformat.format(day, "l"), "date": short}
    return dateformat.format(day, "D j M")
