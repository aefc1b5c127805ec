"""Coordinators' pages after the knock (docs/after-the-session.md): the report per seat and day (and its CSV), today's
check-ins per seat as they happen, and a seat's over-booking and confirm-or-release settings. Every read and write takes the coordinator's
SeatScope."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.exports import export_response
from dispatch.services.turnout import seat_confirm_required_change, seat_overbook_change
from seats.scopes import seat_scope_for
from volunteers.aftercare_report import AFTER, after_report, live_turnout, report_csv_rows
from web.coordinators.views import staff_required

MAX_DAYS = 92
# The live page reloads itself this often (a meta refresh: no script, nothing from another host).
LIVE_REFRESH_SECONDS = 30


class AfterForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To (inclusive)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    seat = forms.CharField(label=gettext_lazy("Seat code (optional)"), required=False, max_length=12)

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        end = cleaned.get("date_to") or today
        start = cleaned.get("date_from") or end - timedelta(days=6)
        if end < start:
            self.add_error("date_to", _("The end must be on or after the start."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("date_to", _("Choose a period of at most %(days)s days.") % {"days": MAX_DAYS})
        cleaned["date_from"], cleaned["date_to"] = start, end
        cleaned["seat"] = (cleaned.get("seat") or "").strip().upper()
        return cleaned


def _rows(request, form):
    data = form.cleaned_data
    scope = seat_scope_for(request.user)
    if data["seat"]:
        scope.check_seat(data["seat"])  # NotFound (a 404 page) outside the organiser's seats
    return after_report(scope=scope, date_from=data["date_from"], date_to=data["date_to"], seat=data["seat"] or None)


@staff_required(scoped=True)
@require_GET
def report(request):
    form = AfterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "web/aftercare/coord_report.html", {"form": form, "rows": []}, status=400)
    if not request.GET:
        form = AfterForm({})
        form.is_valid()
    return render(request, "web/aftercare/coord_report.html", {
        "form": form, "rows": _rows(request, form), "query": request.GET.urlencode()})


@staff_required(scoped=True)
@require_GET
def report_csv(request):
    form = AfterForm(request.GET or {})
    if not form.is_valid():
        return render(request, "web/aftercare/coord_report.html", {"form": form, "rows": []}, status=400)
    rows = _rows(request, form)
    return export_response(AFTER, report_csv_rows(rows), date_from=form.cleaned_data["date_from"].isoformat(),
                           date_to=form.cleaned_data["date_to"].isoformat())


@staff_required(scoped=True)
@require_GET
def live(request):
    """Today's check-ins per seat next to the places booked and the turnout expected; reloads itself."""
    response = render(request, "web/aftercare/coord_live.html", {
        "rows": live_turnout(scope=seat_scope_for(request.user)), "now": timezone.localtime(),
        "refresh": LIVE_REFRESH_SECONDS})
    response["Cache-Control"] = "no-store"
    return response


def _seat_switch(request, ons_code: str, *, field: str, change, said_on: str, said_off: str):
    """A seat's on/off setting from a plain form on the seat's page: the service changes and audits it."""
    on = request.POST.get(field) == "on"
    try:
        change(actor=request.user, ons_code=ons_code.upper(), value=on, scope=seat_scope_for(request.user))
    except DomainError as error:
        if error.code == "out_of_scope":
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, said_on if on else said_off)
    return redirect("coordinators:seat", ons_code=ons_code.upper())


@staff_required(scoped=True)
@require_POST
def seat_overbook(request, ons_code: str):
    return _seat_switch(
        request, ons_code, field="overbook",
        change=lambda *, value, **kwargs: seat_overbook_change(allowed=value, **kwargs),
        said_on=_("Over-booking is on for this seat."), said_off=_("Over-booking is off for this seat."))


@staff_required(scoped=True)
@require_POST
def seat_confirm(request, ons_code: str):
    """The seat's confirm-or-release setting (docs/confirm-or-release.md), a plain form on the seat's page."""
    return _seat_switch(
        request, ons_code, field="confirm_required",
        change=lambda *, value, **kwargs: seat_confirm_required_change(required=value, **kwargs),
        said_on=_("Places nobody confirmed now go to the waitlist in this seat."),
        said_off=_("Places are kept whether or not they are confirmed in this seat."))
