"""Coverage: the dashboard, a seat's page, and the campaign's target list."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from dispatch.models import CoordinatorAction
from dispatch.services import coverage
from dispatch.services.seats import seat_need_change, seat_priority_change, target_list_import
from seats.scopes import SeatScope, seat_scope_for
from seats.selectors import seats_name_priority
from seats.services import seat_need_per_day
from web.coordinators import dashboard as board
from web.coordinators import selectors
from web.coordinators.forms import (
    DashboardForm,
    PeriodForm,
    SeatNeedForm,
    SeatPriorityForm,
    TargetListForm,
    apply_domain_error,
    cleaned_or_default,
)
from web.coordinators.maps import map_shapes
from web.coordinators.views.common import query_with, staff_required
from web.priority import priority_why

# ---- coverage dashboard ------------------------------------------------------------------------------------

COLUMNS = [  # (sort key, heading, numeric)
    ("name", gettext_lazy("Seat"), False), ("priority", gettext_lazy("Priority"), True),
    ("shortfall", gettext_lazy("Short by"), True), ("need", gettext_lazy("Needed"), True),
    ("proven", gettext_lazy("Proven"), True), ("unproven", gettext_lazy("Held, unproven"), True),
    ("places", gettext_lazy("Places"), True), ("fill", gettext_lazy("Full"), True),
    ("waitlisted", gettext_lazy("Waitlisted"), True),
    ("overflow_sent", gettext_lazy("Overflow sent"), True), ("overflow_received", gettext_lazy("Overflow received"), True),
]
LABEL_MAX = 80  # seat names drawn on the map at most; past that they hide each other


@staff_required(scoped=True)
@require_GET
def dashboard(request):
    scope = seat_scope_for(request.user)
    form = DashboardForm(request.GET or None, scope=scope)
    form.is_valid()
    kind = cleaned_or_default(form, "map", "hex")
    colouring = cleaned_or_default(form, "colour", "shortfall")
    sort = cleaned_or_default(form, "sort", board.DEFAULT_SORT)
    if sort.lstrip("-") not in board.SORT_KEYS:
        sort = board.DEFAULT_SORT
    (day_from, day_to), (date_from, date_to) = form.days(), form.period()
    form.initial.update(date_from=day_from, date_to=day_to)  # shown when the page is opened without a query
    region = form.region_value()
    try:
        rows, read_at = coverage.coverage_for_dashboard(date_from=date_from, date_to=date_to, region=region,
                                                        scope=scope)
    except DomainError as error:
        apply_domain_error(form, error)
        rows, read_at = [], None
    by_code = {row["seat"]: row for row in rows}
    seats = seats_name_priority()
    shapes = map_shapes(kind)
    params = {"date_from": day_from.isoformat(), "date_to": day_to.isoformat(), "region": region or "",
              "map": kind, "colour": colouring, "sort": sort}
    svg = legend = None
    unmapped: list[str] = []
    if shapes is not None:
        colours = board.seat_colours(colouring, seats, by_code, in_scope=None if scope.national else scope.allows)
        title = (_("Hex map of the constituencies") if kind == "hex" else _("Map of the constituencies")) + ", " + {
            "priority": _("coloured by priority"), "fill": _("coloured by how full their slots are"),
        }.get(colouring, _("coloured by how short they are of proven volunteers"))
        focus = ([code for code, row in by_code.items()] if region else
                 None if scope.national else sorted(scope.seat_codes))
        zoom = board.zoom_box(shapes, focus) if focus else None
        labelled = [row["seat"] for row in rows if row["slots"]]
        if zoom is None and len(labelled) > LABEL_MAX:
            labelled = []
        svg = board.map_svg(shapes=shapes, kind=kind, colours=colours, seats=seats, coverage=by_code, title=title,
                            description=_("The table of seats on this page holds the same figures, with links."),
                            zoom=zoom, labels=labelled[:LABEL_MAX * 4],
                            in_scope=None if scope.national else scope.allows)
        legend = board.legend(colouring, colours, set(shapes.paths))
        unmapped = sorted(seats[code][0] for code in seats if code not in shapes.paths and scope.allows(code))
    headings = []
    for key, label, numeric in COLUMNS:
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        next_sort = (key if descending else f"-{key}") if current else (
            key if key in ("name", "priority", "shortfall") else f"-{key}")
        headings.append({"key": key, "label": label, "numeric": numeric, "url": query_with(params, sort=next_sort),
                         "aria_sort": ("descending" if descending else "ascending") if current else None})
    totals = {key: sum(row[key] for row in rows) for key in
              ("slots", "places", "confirmed", "waitlisted", "overflow_sent", "overflow_received", "need", "proven",
               "unproven", "shortfall")}
    seat_url = reverse("coordinators:seat", args=["E00000000"]).replace("E00000000", "{}")
    for row in rows:  # presentation only: reversing a URL and formatting a number per row in the template cost more
        row["url"], row["fill_label"] = seat_url.format(row["seat"]), f"{row['fill_pct']:.0f}"
    rows = board.sort_rows(rows, sort)
    return render(request, "web/coordinators/dashboard.html", {
        "form": form, "rows": rows, "rows_html": board.table_rows_html(rows), "headings": headings, "svg": svg, "legend": legend,
        "kind": kind, "colouring": colouring, "day_from": day_from, "day_to": day_to, "totals": totals,
        "short_seats": sum(1 for row in rows if row["shortfall"]), "read_at": read_at,
        "unmapped": unmapped, "seat_count": len(seats), "map_missing": shapes is None,
        "csv_url": reverse("coordinators:export-coverage") + query_with(
            {"date_from": params["date_from"], "date_to": params["date_to"], "region": params["region"]}),
        "links": {
            "hex": query_with(params, map="hex"), "boundaries": query_with(params, map="boundaries"),
            "priority": query_with(params, colour="priority"), "fill": query_with(params, colour="fill"),
            "shortfall": query_with(params, colour="shortfall"),
        },
    })


# ---- seat --------------------------------------------------------------------------------------------------


@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def seat(request, ons_code: str):
    scope = seat_scope_for(request.user)
    seat_obj = selectors.seat_for_page(ons_code=ons_code, scope=scope)
    if seat_obj is None:
        raise Http404
    form = SeatPriorityForm(initial={"priority_override": seat_obj.priority_override, "is_target": seat_obj.is_target})
    need_form = SeatNeedForm(initial={"need_per_day": seat_obj.need_per_day})
    if request.method == "POST" and "need_per_day" in request.POST:
        need_form = SeatNeedForm(request.POST)
        if need_form.is_valid():
            try:
                seat_need_change(actor=request.user, ons_code=seat_obj.pk, scope=scope,
                                 need_per_day=need_form.cleaned_data["need_per_day"])
            except DomainError as error:
                apply_domain_error(need_form, error)
            else:
                messages.success(request, _("Need saved."))
                return redirect("coordinators:seat", ons_code=seat_obj.pk)
    elif request.method == "POST":
        form = SeatPriorityForm(request.POST)
        if form.is_valid():
            try:
                seat_priority_change(actor=request.user, ons_code=seat_obj.pk, scope=scope,
                                     priority_override=form.cleaned_data["priority_override"],
                                     is_target=form.cleaned_data["is_target"])
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Priority saved."))
                return redirect("coordinators:seat", ons_code=seat_obj.pk)
    period = PeriodForm(request.GET or None)
    period.is_valid()
    (day_from, day_to), (date_from, date_to) = period.days(), period.period()
    neighbours = [adjacency for adjacency in selectors.seat_neighbours(seat=seat_obj)
                  if scope.allows(adjacency.to_seat_id)]
    # The figures of this seat and its neighbours only (a scope of those seats), not the country's.
    these = SeatScope(national=False, seat_codes=frozenset([seat_obj.pk, *(a.to_seat_id for a in neighbours)]))
    rows = {row["seat"]: row for row in coverage.coverage_by_seat(date_from=date_from, date_to=date_to, scope=these,
                                                                  every_seat=True)}
    return render(request, "web/coordinators/seat.html", {
        "seat": seat_obj, "seat_is_current": selectors.seat_is_current(seat=seat_obj), "form": form, "need_form": need_form, "period": period, "day_from": day_from,
        "day_to": day_to, "coverage": rows.get(seat_obj.pk), "sessions": selectors.seat_sessions(seat=seat_obj),
        "priority_why": priority_why(seat_obj), "need_per_day": seat_need_per_day(seat_obj),
        "neighbours": [(adjacency, rows.get(adjacency.to_seat_id)) for adjacency in neighbours],
    }, status=400 if form.errors or need_form.errors else 200)


# ---- the campaign's target list ----------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def targets(request):
    """Upload the campaign's target list (national coordinators: it is the whole campaign's)."""
    form = TargetListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = target_list_import(actor=request.user, data=upload.read(), filename=upload.name,
                                        scope=seat_scope_for(request.user))
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Target list imported: %(listed)d seats listed, %(cleared)d taken off the "
                                        "list, %(changed)d priorities changed.") % {
                "listed": result.listed, "cleared": result.cleared, "changed": len(result.changes)})
            return redirect("coordinators:targets")
    return render(request, "web/coordinators/targets.html", {
        "form": form, "listed": selectors.target_list(),
        "example": ("ons_code,priority,target,note", "E14000921,1,true,Held by 422 votes"),  # a file, not prose
        "last": selectors.audit_log(user=request.user, scope=seat_scope_for(request.user))
        .filter(kind=CoordinatorAction.Kind.TARGET_LIST_IMPORTED).first(),
    }, status=400 if form.errors else 200)
