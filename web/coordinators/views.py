"""Coordinators' pages (staff only): coverage dashboard, seat, overflow, assignment runs, SMS log, audit log.

Each view binds a form, calls the same dispatch/seats services the API calls, and renders. Domain errors
from the services land on the form's fields; nothing here decides a business rule.
"""

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, NotFound
from core.errors import PermissionDenied as DomainPermissionDenied
from core.permissions import is_scoped_organiser
from dispatch.models import AssignmentRun, CoordinatorAction
from dispatch.services import assignment, coverage, overflow
from dispatch.services.audit import personal_data_access_log
from dispatch.services.common import action_record
from dispatch.services.seats import seat_need_change, seat_priority_change, target_list_import
from notify.sms.backends import backend_accepted_words
from notify.sms.models import SmsMessage
from notify.sms.services import message_retry
from seats.scopes import SeatScope, seat_scope_for
from seats.selectors import seats_name_priority
from seats.services import seat_need_per_day
from volunteers.privacy import Access
from web.coordinators import dashboard as board
from web.coordinators import selectors
from web.coordinators.forms import (
    SCOPE_ERRORS,
    DashboardForm,
    OverflowForm,
    PeriodForm,
    RunForm,
    SeatNeedForm,
    SeatPriorityForm,
    SmsFilterForm,
    TargetListForm,
    apply_domain_error,
    cleaned_or_default,
)
from web.coordinators.maps import map_shapes
from web.priority import priority_why

SMS_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50
RUN_REFRESH_SECONDS = 2


def staff_required(view=None, *, scoped: bool = False):
    """Anonymous: to the sign-in page and back. Signed in but not staff: a 403 page. A regional organiser (see
    seats.scopes): a 403 page unless the view is `scoped`, which promises to hand seat_scope_for(request.user)
    to every service it calls; the services' out-of-scope errors become a 404 (a seat, run or message that is
    not theirs) or a 403 (a region that is not theirs, a national-only tool)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_staff:
                raise PermissionDenied
            if not scoped and is_scoped_organiser(request.user):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                if error.code in SCOPE_ERRORS:
                    raise Http404 from None
                raise
            except DomainPermissionDenied as error:
                raise PermissionDenied(error.message) from None

        wrapper.seat_scoped = scoped
        return wrapper

    return decorate(view) if view is not None else decorate


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def _query(params: dict, **changes) -> str:
    merged = {**{k: v for k, v in params.items() if v not in (None, "")}, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _pager_urls(page, params: dict | None = None) -> dict:
    """The links of _pager.html: the newer and older pages of `page`, with the list's other `params` kept."""
    return {
        "previous_url": _query(params or {}, page=page.previous_page_number()) if page.has_previous() else None,
        "next_url": _query(params or {}, page=page.next_page_number()) if page.has_next() else None,
    }


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
        headings.append({"key": key, "label": label, "numeric": numeric, "url": _query(params, sort=next_sort),
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
        "csv_url": reverse("coordinators:export-coverage") + _query(
            {"date_from": params["date_from"], "date_to": params["date_to"], "region": params["region"]}),
        "links": {
            "hex": _query(params, map="hex"), "boundaries": _query(params, map="boundaries"),
            "priority": _query(params, colour="priority"), "fill": _query(params, colour="fill"),
            "shortfall": _query(params, colour="shortfall"),
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


# ---- overflow ----------------------------------------------------------------------------------------------

def _overflow(request, form: OverflowForm, *, dry_run: bool):
    data = form.cleaned_data
    scope = seat_scope_for(request.user)
    source_slots, source_seats = overflow.source_slots_resolve(seat_code=data.get("seat") or None,
                                                                session_id=data.get("session"), scope=scope)
    params = {key: value for key, value in data.items() if value not in (None, "")}
    params["dry_run"] = dry_run
    result = overflow.overflow_run(source_slots=source_slots, source_seats=source_seats, dry_run=dry_run,
                                   actor=request.user, params=params, scope=scope)
    return result, source_slots


@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def overflow_page(request):
    if request.method == "POST":
        form = OverflowForm(request.POST)
        if form.is_valid():
            try:
                result, _slots = _overflow(request, form, dry_run=False)
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("%(moved)d moved, %(left)d could not be placed.") % {
                    "moved": len(result.moves), "left": len(result.unplaced)})
                return redirect("coordinators:audit-action", action_id=result.action_id)
        return render(request, "web/coordinators/overflow.html", {"form": form}, status=400)
    form = OverflowForm(request.GET or None)
    context = {"form": form}
    if form.is_bound and form.is_valid():
        try:
            result, source_slots = _overflow(request, form, dry_run=True)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            slots = selectors.slots_by_id({m.from_slot for m in result.moves} | {m.to_slot for m in result.moves}
                                          | {u.from_slot for u in result.unplaced})
            context.update(result=result, source_slots=source_slots, slots=slots)
    return render(request, "web/coordinators/overflow.html", context, status=400 if form.errors else 200)


# ---- assignment runs ---------------------------------------------------------------------------------------

@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def runs(request):
    scope = seat_scope_for(request.user)
    form = RunForm(request.POST if request.method == "POST" else None, scope=scope)
    if request.method == "POST" and form.is_valid():
        date_from, date_to = form.period()
        try:
            run = assignment.run_start(user=request.user, date_from=date_from, date_to=date_to,
                                       region=form.region_value(), scope=scope)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            return redirect("coordinators:run", run_id=run.pk)
    day_from, day_to = form.days()
    if not form.is_bound:
        form = RunForm(initial={"date_from": day_from, "date_to": day_to}, scope=scope)
    return render(request, "web/coordinators/runs.html", {"form": form, "runs": assignment.runs_recent(scope=scope)},
                  status=400 if form.errors else 200)


def _run_or_404(request, run_id: int) -> AssignmentRun:
    try:
        return assignment.run_get(run_id=run_id, scope=seat_scope_for(request.user))
    except NotFound:
        raise Http404 from None


WORKING = (AssignmentRun.State.QUEUED, AssignmentRun.State.RUNNING, AssignmentRun.State.COMMITTING)


@staff_required(scoped=True)
@require_GET
def run(request, run_id: int):
    run_obj = _run_or_404(request, run_id)
    return render(request, "web/coordinators/run.html", {
        "run": run_obj, "working": run_obj.state in WORKING, "refresh": RUN_REFRESH_SECONDS,
        "sample": selectors.run_sample(run=run_obj) if run_obj.state != AssignmentRun.State.QUEUED else [],
        "totals": run_obj.totals or {},
    })


@staff_required(scoped=True)
@require_GET
def run_progress(request, run_id: int):
    run_obj = _run_or_404(request, run_id)
    return JsonResponse({"state": run_obj.state, "state_label": run_obj.get_state_display(),
                         "progress": run_obj.progress, "message": run_obj.progress_message,
                         "done": run_obj.state not in WORKING})


@staff_required(scoped=True)
@require_POST
def run_commit(request, run_id: int):
    _run_or_404(request, run_id)
    try:
        assignment.run_commit(run_id=run_id, user=request.user, scope=seat_scope_for(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("coordinators:run", run_id=run_id)


# ---- SMS log -----------------------------------------------------------------------------------------------

@staff_required(scoped=True)
@require_GET
def sms_log(request):
    form = SmsFilterForm(request.GET or None)
    form.is_valid()
    filters = {name: cleaned_or_default(form, name, default) for name, default in
               (("status", ""), ("kind", ""), ("opted_out", False), ("retried", False))}
    page = Paginator(selectors.sms_log(**filters, failures_value=SmsFilterForm.FAILURES,
                                       scope=seat_scope_for(request.user)), SMS_PAGE_SIZE) \
        .get_page(_page_number(request))
    params = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    return render(request, "web/coordinators/sms_log.html", {
        "form": form, "page": page, **_pager_urls(page, params), "accepted_words": _(backend_accepted_words()),
    })


def _sms_or_404(request, message_id: int) -> SmsMessage:
    message = selectors.sms_message(message_id=message_id, scope=seat_scope_for(request.user))
    if message is None:
        raise Http404
    return message


@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def sms_message(request, message_id: int):
    """The message with its number masked; POST shows the number and text, and says so in the audit log."""
    message = _sms_or_404(request, message_id)
    revealed = request.method == "POST"
    if revealed:
        personal_data_access_log(actor=request.user, action=Access.VIEWED,
                                 volunteer_ids=[message.volunteer_id] if message.volunteer_id else [],
                                 detail={"where": "coordinator sms message", "message": message.pk,
                                         "fields": ["to", "name", "body"]})
    return render(request, "web/coordinators/sms_message.html", {"message": message, "revealed": revealed,
                                                                 "accepted_words": _(backend_accepted_words())})


@staff_required(scoped=True)
@require_POST
def sms_retry(request, message_id: int):
    message = _sms_or_404(request, message_id)
    if message_retry(message_id=message.pk):
        action_record(actor=request.user, kind=CoordinatorAction.Kind.SMS_RETRIED,
                      params={"sms_message": message.pk, "volunteer": message.volunteer_id}, result={})
        messages.success(request, _("Message queued to be sent again."))
    else:
        messages.error(request, _("Only a failed or unsent message can be sent again."))
    return redirect("coordinators:sms-message", message_id=message.pk)


# ---- email failures ----------------------------------------------------------------------------------------

EMAIL_PROBLEMS = ("failed", "assumed")


@staff_required
@require_GET
def email_failures(request):
    """Emails that failed or whose outcome is unknown (handed over, no answer), newest first, addresses masked; the
    admin's email log has every row and sends chosen ones again."""
    from notify.email.admin import mask_email
    from notify.email.models import EmailMessage

    rows = EmailMessage.objects.filter(status__in=EMAIL_PROBLEMS).order_by("-created_at", "-id")
    page = Paginator(rows, SMS_PAGE_SIZE).get_page(_page_number(request))
    for message in page.object_list:
        message.masked_to = mask_email(message.to)
    return render(request, "web/coordinators/email_failures.html", {
        "page": page, **_pager_urls(page),
    })


# ---- front rooms held back (volunteers.disclosure) ----------------------------------------------------------

HOLDS_PAGE_SIZE = 50


@staff_required
@require_GET
def held_addresses(request):
    """Phones that reached their allowance of front rooms (metered disclosure), newest first, numbers masked, each
    with "let through" for that room. Reading the list is recorded in the audit log."""
    from volunteers.disclosure import front_room_holds_open
    from volunteers.privacy import mask_phone

    page = Paginator(front_room_holds_open(), HOLDS_PAGE_SIZE).get_page(_page_number(request))
    for hold in page.object_list:
        hold.masked_phone = mask_phone(hold.volunteer.phone)
    if page.object_list:
        personal_data_access_log(actor=request.user, action=Access.VIEWED,
                                 volunteer_ids=sorted({hold.volunteer_id for hold in page.object_list}),
                                 detail={"where": "coordinator held addresses", "fields": ["phone (masked)"]})
    return render(request, "web/coordinators/held_addresses.html", {"page": page, **_pager_urls(page)})


@staff_required
@require_POST
def held_address_release(request, hold_id: int):
    """Let the phone see this front room's address: the hold closes and every path shows it from now on."""
    from volunteers.disclosure import front_room_release

    try:
        hold = front_room_release(hold_id=hold_id, user=request.user)
    except NotFound as exc:
        raise Http404 from exc
    personal_data_access_log(actor=request.user, action="address_released", volunteer_ids=[hold.volunteer_id],
                             detail={"where": "coordinator held addresses", "meeting_point": hold.meeting_point_id})
    messages.success(request, _("Done: this phone can now see the address."))
    return redirect("coordinators:held-addresses")


# ---- audit log ---------------------------------------------------------------------------------------------

@staff_required(scoped=True)
@require_GET
def audit(request):
    page = Paginator(selectors.audit_log(user=request.user, scope=seat_scope_for(request.user)), AUDIT_PAGE_SIZE).get_page(_page_number(request))
    names = selectors.seat_names({(action.params or {}).get("seat") for action in page.object_list} - {None})
    for action in page.object_list:  # a seat's name, never its bare code
        action.seat_name = names.get((action.params or {}).get("seat"))
    return render(request, "web/coordinators/audit.html", {
        "page": page, **_pager_urls(page),
    })


@staff_required(scoped=True)
@require_GET
def audit_action(request, action_id: int):
    action = selectors.audit_log(user=request.user, scope=seat_scope_for(request.user)).filter(pk=action_id).first()
    if action is None:
        raise Http404
    moves = (action.result or {}).get("moves", [])
    slots = selectors.slots_by_id({m["from_slot"] for m in moves} | {m["to_slot"] for m in moves}) if moves else {}
    return render(request, "web/coordinators/audit_action.html", {"action": action, "moves": moves, "slots": slots})


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
