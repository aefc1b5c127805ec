"""A booking's lifts, from its private page (/b/<token>/lift/...): offer one, ask for a seat, answer, cancel.
Every act is a POST through travel.services; the page shows what travel.selectors allows."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import DomainError, InvalidInput, NotFound, RateLimited
from core.ratelimit import limit_ip
from travel import services
from volunteers.identity import booking_by_link
from volunteers.links import opened_automatically
from web.volunteer.lift_forms import LiftOfferForm


def _page(token: str):
    return redirect(reverse("volunteer:lifts", args=[token]))


@require_safe
def page(request, token: str):
    """A booking's lifts, on a page of their own: the booking's page stays one read (BENCHMARKS.md, "Texted-link
    surge"). A link preview or scanner sees no name and no pickup point (travel.selectors)."""
    try:
        booking = booking_by_link(manage_token=token)
    except NotFound:
        raise Http404 from None
    automatic = opened_automatically(method=request.method, user_agent=request.headers.get("User-Agent"))
    return render(request, "web/volunteer/lifts.html", {"booking": booking, "session": booking.slot.session,
                                                        "slot": booking.slot, "automatic": automatic})


def _told(request, token: str, problem: DomainError):
    if isinstance(problem, NotFound) and problem.code == "not_found":
        raise Http404
    messages.error(request, problem.message)
    return _page(token)


@require_http_methods(["GET", "POST"])
@limit_ip("booking_ip")
def offer(request, token: str):
    try:
        booking = booking_by_link(manage_token=token)
    except NotFound:
        raise Http404 from None
    form = LiftOfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        day = timezone.localtime(booking.slot.starts_at).date()
        try:
            services.offer_create(
                manage_token=token, seats=form.cleaned_data["seats"], pickup_kind=form.cleaned_data["pickup_kind"],
                pickup_label=form.cleaned_data["pickup_label"], pickup_postcode=form.cleaned_data["pickup_postcode"],
                departs_at=form.departs_at(day), invite_only=form.cleaned_data["invite_only"],
                woman_driver=form.cleaned_data["woman_driver"])
        except InvalidInput as problem:
            for field, errors in problem.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields or field != "departs_at" else "departs", error)
        except RateLimited as problem:
            form.add_error(None, problem.message)
        except DomainError as problem:
            return _told(request, token, problem)
        else:
            messages.success(request, _("Your lift is offered. We text you when someone asks for a seat."))
            return _page(token)
    return render(request, "web/volunteer/lift_offer.html", {"booking": booking, "form": form,
                                                             "session": booking.slot.session, "slot": booking.slot},
                  status=400 if request.method == "POST" else 200)


def _acted(request, token: str, act, done: str = ""):
    """Do `act` (a travel service call), then back to the lifts on the booking's page, saying `done` or the
    problem."""
    try:
        act()
    except DomainError as problem:
        return _told(request, token, problem)
    if done:
        messages.success(request, done)
    return _page(token)


@require_POST
@limit_ip("booking_ip")
def ask(request, token: str):
    return _acted(request, token, lambda: services.request_create(
        manage_token=token, offer_token=request.POST.get("offer", "")[:40],
        invite_token=request.POST.get("invite", "").strip()[:40]), _("Asked. We text you when the driver answers."))


@require_POST
def answer(request, token: str):
    return _acted(request, token, lambda: services.request_answer(
        manage_token=token, request_token=request.POST.get("request", "")[:40],
        accept=request.POST.get("accept") == "yes"))


@require_POST
def cancel(request, token: str):
    return _acted(request, token, lambda: services.offer_cancel(manage_token=token),
                  _("Your lift is cancelled. Anyone who asked is told; their places are kept."))


@require_POST
def withdraw(request, token: str):
    return _acted(request, token, lambda: services.request_withdraw(manage_token=token),
                  _("Done: you no longer ride in that car. Your place is kept."))
