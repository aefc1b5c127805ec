"""field_row writes a volunteers' form field exactly as the include it replaced did, for every field of those forms."""

import pytest
from django.template import engines

from web.templatetags.volunteer_tags import field_row
from web.volunteer.forms import BookingForm, CodeForm, EmailForm, NeededForm, SearchForm

# The template field_row replaced (web/volunteer/_field.html), as it stood.
FIELD_TEMPLATE = """{% load i18n %}{% if field.widget_type == "checkbox" %}<div class="field field-check{% if field.errors %} has-error{% endif %}">
{% if field.errors %}<p class="field-error" id="{{ field.auto_id }}_error"><span class="visually-hidden">{% translate "Error:" %} </span>{{ field.errors|join:" " }}</p>{% endif %}
<div class="check">{{ field }}<label for="{{ field.id_for_label }}">{{ field.label }}</label></div>
{% if field.help_text %}<span class="hint" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</span>{% endif %}
</div>{% else %}<div class="field{% if field.errors %} has-error{% endif %}">
<label for="{{ field.id_for_label }}">{{ field.label }}</label>
{% if field.help_text %}<span class="hint" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</span>{% endif %}
{% if field.errors %}<p class="field-error" id="{{ field.auto_id }}_error"><span class="visually-hidden">{% translate "Error:" %} </span>{{ field.errors|join:" " }}</p>{% endif %}
{{ field }}
</div>{% endif %}
"""

FORMS = [
    ("SearchForm", lambda: SearchForm()),
    ("SearchForm, bound", lambda: SearchForm({"postcode": "<b>s10", "within": "9", "date_from": "31/31/2026"})),
    ("BookingForm", lambda: BookingForm(initial={"postcode": "S10 2TN", "consent_sms": True})),
    ("BookingForm, bound", lambda: BookingForm({"name": "", "phone": "x", "postcode": "S10 2TN", "consent_email": "on",
                                                "email": "not an email"})),
    ("NeededForm", lambda: NeededForm()),
    ("NeededForm, bound", lambda: NeededForm({"name": "A & B", "phone": "07700900123", "when": ["junk"]})),
    ("CodeForm, bound", lambda: CodeForm({"code": "12"})),
    ("EmailForm, bound", lambda: EmailForm({"email": "x", "consent_email": "on"})),
]


@pytest.mark.parametrize("make_form", [make for _, make in FORMS], ids=[name for name, _ in FORMS])
def test_field_row_writes_what_the_field_template_wrote(make_form, db):
    form = make_form()
    if form.is_bound:
        form.is_valid()  # the errors, as the views show them
    template = engines["django"].from_string(FIELD_TEMPLATE)
    for field in form:
        assert field_row(field) == template.render({"field": field}), field.name
