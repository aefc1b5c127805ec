"""Coordinators' messages to everyone booked on a day (a seat, a region, or everyone in their scope), with the
preview before the send (web.hosts.messages works the same way), the list of messages sent (the audit: who sent
what to how many), and the consent ledger as CSV for an ICO request (national coordinators only)."""

from datetime import date

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError, RateLimited
from core.exports import csv_response
from notify.messaging import message_preview, message_send
from notify.messaging.audience import audience_for_coordinator
from notify.models import Broadcast
from seats.scopes import seat_scope_for
from seats.selectors import seat_regions
from volunteers.consent_ledger import LEDGER_COLUMNS, ledger_rows
from web.coordinators.views import staff_required
from web.dates import DateField
from web.message_forms import MessageForm, sent_summary
from web.volunteer.forms import add_domain_error

PAGE_SIZE = 25


class BroadcastForm(MessageForm):
    day = DateField(label=_("Day"), help_text=_("Everyone booked on this day."),
                    error_messages={"required": _("Choose a day.")})
    seat = forms.CharField(label=_("Seat (ONS code)"), required=False, max_length=9)
    region = forms.ChoiceField(label=_("Or a region"), required=False)
    drivers = forms.BooleanField(label=_("Only drivers offering a lift that day"), required=False,
                                 help_text=_("Volunteers with an open lift offer to a session that day (docs/travel.md)."))

    field_order = ["day", "seat", "region", "drivers", "purpose", "body"]

    def __init__(self, *args, scope=None, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = _("Everyone booked") if scope is None or scope.national else _("All my seats")
        self.fields["region"].choices = [("", everyone)] + [(r, r) for r in seat_regions()]
        if scope is not None and not scope.national:
            self.fields["region"].widget.choices = [("", everyone)] + [(r, r) for r in scope.regions]


@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def broadcast(request):
    scope = seat_scope_for(request.user)
    form = BroadcastForm(request.POST or None, scope=scope, initial={"day": date.today()})
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audience = audience_for_coordinator(user=request.user, day=data["day"], seat_code=data["seat"],
                                                region=data["region"], drivers=data["drivers"])
            if request.POST.get("action") == "send":
                sent = message_send(sender=request.user, audience=audience, purpose=data["purpose"], body=data["body"])
                messages.success(request, sent_summary(sent))
                return redirect("coordinators:messages")
            preview = message_preview(audience=audience, purpose=data["purpose"], body=data["body"])
        except RateLimited as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            if exc.code == "out_of_scope":
                raise
            add_domain_error(form, exc, default_field="body")
    sent = Broadcast.objects.select_related("sender", "session", "seat").order_by("-created_at", "-id")
    if not scope.national:  # an organiser sees their own messages
        sent = sent.filter(sender=request.user)
    page = Paginator(sent, PAGE_SIZE).get_page(request.GET.get("page", "1") if request.GET.get(
        "page", "1").isdigit() else 1)
    return render(request, "web/coordinators/messages.html", {
        "form": form, "preview": preview, "page": page, "national": scope.national})


@staff_required
@require_GET
def consent_ledger_csv(request):
    """Every grant and withdrawal of consent (volunteers.consent_ledger), for an ICO request. National only."""
    return csv_response(filename="consent-ledger.csv", header=LEDGER_COLUMNS, rows=ledger_rows())
