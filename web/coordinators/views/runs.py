"""The dispatch tools: overflow, and assignment runs with their progress and commit."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, NotFound
from dispatch.models import AssignmentRun
from dispatch.services import assignment, overflow
from seats.scopes import seat_scope_for
from web.coordinators import selectors
from web.coordinators.forms import OverflowForm, RunForm, apply_domain_error
from web.coordinators.views.common import staff_required

RUN_REFRESH_SECONDS = 2


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
