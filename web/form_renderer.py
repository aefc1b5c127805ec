"""The form renderer of every page (settings.FORM_RENDERER): Django's own, with the plain <input> and <select>
widgets written out in Python instead of through their templates.

Through the template engine a field costs about 100 µs (input.html, attrs.html, and an include per <option>: a
five-option <select> 240 µs), here a few µs; the results page renders four fields on every search. Kept after
issue 26's page cache by measurement (bench/readable.py, BENCHMARKS.md "Readable again"): Django's own renderer
cost the results page 2.35 ms more, 10% of the election-weekend mix's CPU at the 27% of answers the cache
serves, over the 5% bar. The HTML is the templates' to the byte (tests/web/test_form_renderer.py compares the two
for every widget of the pages). Django's renderer always loads its own widget templates first (its engine's DIRS), so no project template is
bypassed; any other template (a form, a field, radio buttons, a widget's own template_name) goes through the
engine as before.
"""

import html

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime

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
