"""Coordinators' CSV downloads (docs/exports.md): a page of the four exports, and each file streamed from the same
row builders as the API (volunteers.exports, dispatch.exports). Bad input is the page again with the field's
error, never a half-written file."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.errors import DomainError
from core.exports import export_response
from dispatch import exports as dispatch_exports
from seats.scopes import seat_scope_for
from volunteers import exports as volunteer_exports
from web.coordinators.forms import (
    BookingsExportForm,
    ExportPeriodForm,
    PeriodForm,
    VolunteersExportForm,
    apply_domain_error,
)
from web.coordinators.views import staff_required


def _page(request, *, status: int = 200, **forms):
    context = {"bookings_form": BookingsExportForm(), "volunteers_form": VolunteersExportForm(),
               "coverage_form": PeriodForm(scope=seat_scope_for(request.user)), "sms_form": ExportPeriodForm(prefix="sms"), **forms}
    context["exports"] = {
        "bookings": volunteer_exports.BOOKINGS, "volunteers": volunteer_exports.VOLUNTEERS,
        "coverage": dispatch_exports.COVERAGE, "sms": dispatch_exports.SMS_FAILURES}
    return render(request, "web/coordinators/exports.html", context, status=status)


@staff_required(scoped=True)
@require_GET
def exports_page(request):
    return _page(request)


@staff_required(scoped=True)
@require_GET
def bookings_csv(request):
    form = BookingsExportForm(request.GET)
    if not form.is_valid():
        return _page(request, status=400, bookings_form=form)
    date_from, date_to = form.bounds()
    status = form.cleaned_data["status"]
    rows = volunteer_exports.bookings_export_rows(actor=request.user, date_from=date_from, date_to=date_to,
                                                  statuses=[status] if status else None,
                                                  scope=seat_scope_for(request.user))
    return export_response(volunteer_exports.BOOKINGS, rows)


@staff_required(scoped=True)
@require_GET
def volunteers_csv(request):
    form = VolunteersExportForm(request.GET)
    if not form.is_valid():
        return _page(request, status=400, volunteers_form=form)
    consent = form.cleaned_data["consent_sms"]
    rows = volunteer_exports.volunteers_export_rows(actor=request.user,
                                                    consent_sms=None if not consent else consent == "yes",
                                                    scope=seat_scope_for(request.user))
    return export_response(volunteer_exports.VOLUNTEERS, rows)


@staff_required(scoped=True)
@require_GET
def coverage_csv(request):
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return _page(request, status=400, coverage_form=form)
    date_from, date_to = form.period()
    try:
        rows = dispatch_exports.coverage_export_rows(date_from=date_from, date_to=date_to,
                                                     region=form.region_value(), scope=seat_scope_for(request.user))
    except DomainError as error:
        apply_domain_error(form, error)
        return _page(request, status=400, coverage_form=form)
    day_from, day_to = form.days()
    return export_response(dispatch_exports.COVERAGE, rows, date_from=f"{day_from:%Y%m%d}", date_to=f"{day_to:%Y%m%d}")


@staff_required(scoped=True)
@require_GET
def sms_failures_csv(request):
    form = ExportPeriodForm(request.GET, prefix="sms")
    if not form.is_valid():
        return _page(request, status=400, sms_form=form)
    since, until = form.bounds()
    rows = dispatch_exports.sms_failures_export_rows(actor=request.user, since=since, until=until,
                                                     scope=seat_scope_for(request.user))
    return export_response(dispatch_exports.SMS_FAILURES, rows)
