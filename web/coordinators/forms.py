"""Forms of the coordinators' pages. They only parse and check the shape of input; every rule is in the
services they feed (dispatch, seats, sms), whose domain errors come back onto the form's fields."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from notify.sms.backends import backend_accepted_words
from notify.sms.models import SmsMessage
from seats.models import Seat
from seats.selectors import seat_regions
from web.dates import DateField

MAX_PERIOD_DAYS = 366


def default_days() -> int:
    """COVERAGE_DEFAULT_DAYS: the period the API's coverage covers when not told (dispatch.services.coverage)."""
    return max(1, int(settings.COVERAGE_DEFAULT_DAYS))


# A service refusing something outside a regional organiser's scope: not a mistake in the form but a 404/403,
# raised on to the view's decorator (staff_required).
SCOPE_ERRORS = ("out_of_scope", "national_only")


def apply_domain_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's error on the fields it names (or on the whole form): the same words the API uses. Scope
    refusals are raised again."""
    if error.code in SCOPE_ERRORS:
        raise error
    placed = False
    for field, messages in (error.fields or {}).items():
        if field in form.fields:
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def cleaned_or_default(form: forms.Form, name: str, default):
    """A GET filter's value if it was valid, otherwise its default: junk in a query string never fails a page."""
    value = form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None
    return default if value in (None, "") else value


class PeriodForm(forms.Form):
    """A period of whole local days, both inclusive; empty means COVERAGE_DEFAULT_DAYS (7) from today."""

    date_from = DateField(label=_("From"), required=False)
    date_to = DateField(label=_("To (inclusive)"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, *args, scope=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("All regions"))] + [(r, r) for r in seat_regions()]
        if scope is not None and not scope.national:
            # Offered: their own regions. Every region still parses, so that asking for another one reaches the
            # service, which refuses it (a 403), rather than quietly showing something else.
            self.fields["region"].widget.choices = [("", _("All my seats"))] + [(r, r) for r in scope.regions]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end must be on or after the start."))
        elif start and end and (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("date_to", _("Choose a period of at most a year."))
        return cleaned

    def days(self) -> tuple[date, date]:
        today = timezone.localdate()
        start = cleaned_or_default(self, "date_from", None)
        end = cleaned_or_default(self, "date_to", None)
        if self.errors.get("date_to") or self.errors.get("date_from"):
            start = end = None
        start = start or (end - timedelta(days=default_days() - 1) if end else today)
        end = end or start + timedelta(days=default_days() - 1)
        return start, end

    def period(self) -> tuple[datetime, datetime]:
        """[local midnight of the first day, local midnight after the last day)."""
        start, end = self.days()
        zone = timezone.get_current_timezone()
        return (timezone.make_aware(datetime.combine(start, time.min), zone),
                timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone))

    def region_value(self) -> str | None:
        return cleaned_or_default(self, "region", None)


class DashboardForm(PeriodForm):
    map = forms.ChoiceField(choices=[("hex", _("Hex map")), ("boundaries", _("Boundaries"))], required=False)
    colour = forms.ChoiceField(choices=[("shortfall", _("Shortfall")), ("priority", _("Priority")),
                                        ("fill", _("How full"))], required=False)
    sort = forms.CharField(required=False, max_length=30)


class SeatPriorityForm(forms.Form):
    priority_override = forms.TypedChoiceField(
        label=_("Priority override"), required=False, coerce=int, empty_value=None,
        choices=[("", _("None: use the computed priority"))] + [(str(p), str(p)) for p in range(1, 6)],
        help_text=_("1 is the most important. An override wins over the computed priority and the target flag."),
    )
    is_target = forms.BooleanField(label=_("Target seat (one band higher than its marginality)"), required=False)


class SeatNeedForm(forms.Form):
    need_per_day = forms.IntegerField(
        label=_("Proven places needed a day"), required=False, min_value=0, max_value=10000,
        help_text=_("Empty: the default for the seat's priority band (SEAT_NEED_BY_PRIORITY)."),
    )


class TargetListForm(forms.Form):
    file = forms.FileField(
        label=_("Target list (CSV)"),
        help_text=_("Columns: ons_code, priority (1–5, 1 the most important), optionally target (true or false) and "
                    "note. The file replaces the whole list; one bad row and nothing changes."),
    )


class OverflowForm(forms.Form):
    seat = forms.CharField(label=_("Full seat"), required=False, max_length=120,
                           help_text=_("Its name (for example Croydon South) or ONS code. Or give a session "
                                       "number instead."))
    session = forms.IntegerField(label=_("Or one session (number)"), required=False, min_value=1,
                                 max_value=2**63 - 1)

    def clean_seat(self):
        """The ONS code of the seat named (by its exact name or its code); unknown names go on as typed, for the
        service to refuse on the field."""
        value = (self.cleaned_data.get("seat") or "").strip()
        if not value:
            return ""
        code = Seat.objects.filter(name__iexact=value).values_list("pk", flat=True).first()
        return code or value.upper()[:9]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("seat") and not cleaned.get("session"):
            raise forms.ValidationError(_("Give a seat or a session."))
        return cleaned


class RunForm(PeriodForm):
    pass


class SmsFilterForm(forms.Form):
    FAILURES = "failures"
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("Any")), (FAILURES, _("Failures (failed or undelivered)")), *SmsMessage.Status.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any")), *SmsMessage.Kind.choices])
    opted_out = forms.BooleanField(label=_("Only opted-out numbers"), required=False)
    retried = forms.BooleanField(label=_("Only retried (more than one attempt)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "queued" in the configured backend's words: the console backend writes to the log, it never reaches Twilio.
        accepted = gettext(backend_accepted_words())
        self.fields["status"].choices = [(value, accepted if value == SmsMessage.Status.QUEUED else label)
                                         for value, label in self.fields["status"].choices]


# ---- exports (docs/exports.md) -------------------------------------------------------------------------------

class ExportPeriodForm(forms.Form):
    """An optional period of whole local days, both inclusive; either end may be left open."""

    date_from = DateField(label=_("From"), required=False)
    date_to = DateField(label=_("To (inclusive)"), required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end must be on or after the start."))
        return cleaned

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[local midnight of the first day, local midnight after the last day), None for an open end."""
        zone = timezone.get_current_timezone()
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        return (timezone.make_aware(datetime.combine(start, time.min), zone) if start else None,
                timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone) if end else None)


class BookingsExportForm(ExportPeriodForm):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))])

    def __init__(self, *args, **kwargs):
        from volunteers.models import Booking

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any")), *Booking.Status.choices]


class VolunteersExportForm(forms.Form):
    consent_sms = forms.ChoiceField(label=_("Texts"), required=False, choices=[
        ("", _("Everyone")), ("yes", _("Only those who agreed to texts")), ("no", _("Only those who did not"))])
