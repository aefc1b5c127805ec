"""web.form_renderer writes the plain widgets exactly as Django's templates do, for every widget of the pages."""

from datetime import date

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from web.coordinators.forms import ExportPeriodForm, OverflowForm, PeriodForm, SeatPriorityForm, SmsFilterForm
from web.form_renderer import INPUT_TEMPLATES, FormRenderer
from web.hosts.forms import (
    CancelSessionForm,
    CopySessionForm,
    MeetingPointForm,
    MobileCodeForm,
    NotificationsForm,
    RefuseBookingForm,
    SlotForm,
)
from web.volunteer.forms import BookingForm, CodeForm, ConfirmForm, EmailForm, NeededForm, SearchForm


class EveryWidgetForm(forms.Form):
    text = forms.CharField(widget=forms.TextInput(attrs={
        "autofocus": True, "disabled": False, "data-none": None, "data-safe": mark_safe("<b>"),
        "data-lazy": gettext_lazy("Your postcode"), "placeholder": 'a "quoted" <value> & more', "size": 12}))
    number = forms.IntegerField(min_value=1, max_value=10)
    decimal = forms.DecimalField(required=False)
    email = forms.EmailField(required=False)
    url = forms.URLField(required=False, assume_scheme="https")
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(widget=forms.HiddenInput)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    moment = forms.DateTimeField(required=False)
    at = forms.TimeField(required=False)
    tick = forms.BooleanField(required=False)
    search = forms.CharField(widget=forms.TextInput(attrs={"type": "search"}), required=False)
    choice = forms.ChoiceField(choices=[("", "---"), ("a", "A & B"), (5, 5), ("lazy", gettext_lazy("Within"))])
    grouped = forms.ChoiceField(choices=[("Near", [("1", "One"), ("2", "<Two>")]), ("3", "Three")])
    typed = forms.TypedChoiceField(choices=[(5, gettext_lazy("5 km")), (10, gettext_lazy("10 km"))], coerce=int)
    maybe = forms.NullBooleanField()
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], required=False)
    empty = forms.ChoiceField(choices=[], required=False)


EVERY_WIDGET_DATA = {
    "text": '<script>"x"</script>', "number": "0", "decimal": "1.5", "email": "a@b", "url": "x", "password": "p&w",
    "hidden": "h", "day": "2026-12-06", "moment": "junk", "at": "10:00", "tick": "on", "search": "s", "choice": "5",
    "grouped": "2", "typed": "10", "maybe": "true", "many": ["x", "y"],
}


PAGE_FORMS = (SearchForm, BookingForm, NeededForm, CodeForm, EmailForm, ConfirmForm, PeriodForm, ExportPeriodForm,
              OverflowForm, SeatPriorityForm, SmsFilterForm, CancelSessionForm, CopySessionForm, MeetingPointForm,
              MobileCodeForm, NotificationsForm, RefuseBookingForm, SlotForm)
JUNK = {"postcode": "s10 <2tn>", "within": "9", "date_from": "31/31/2026", "phone": "x"}
FORMS = [
    ("every widget", lambda: EveryWidgetForm()),
    ("every widget, bound", lambda: EveryWidgetForm(data=EVERY_WIDGET_DATA)),
    ("every widget, initial", lambda: EveryWidgetForm(
        initial={"day": date(2026, 12, 6), "tick": True, "text": mark_safe("<i>safe</i>")})),
    *[(form_class.__name__, form_class) for form_class in PAGE_FORMS],
    *[(f"{form_class.__name__}, bound", lambda form_class=form_class: form_class(data=JUNK))
      for form_class in PAGE_FORMS],
]


@pytest.mark.parametrize("make_form", [make for _, make in FORMS], ids=[name for name, _ in FORMS])
def test_each_widget_renders_as_djangos_templates_render_it(make_form, db):
    form = make_form()
    fast, templates = FormRenderer(), DjangoTemplates()
    for field in form:
        form.renderer = templates
        expected = str(field)
        form.renderer = fast
        assert str(field) == expected, field.name


def test_the_pages_use_it_and_it_covers_the_plain_inputs(settings):
    assert isinstance(get_default_renderer(), FormRenderer)
    assert isinstance(SearchForm().renderer, FormRenderer)
    covered = {forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput, forms.PasswordInput,
               forms.HiddenInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput, forms.CheckboxInput}
    assert {widget.template_name for widget in covered} <= INPUT_TEMPLATES
