"""Coordinators' lifts page: per seat and day, places that arrive by lift, lifts and seats offered, seats left and
riders waiting; the day's open lifts, with a way to block a driver or a rider (travel.services.volunteer_block)."""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from dispatch.services.audit import personal_data_access_log
from seats.scopes import seat_scope_for
from travel.models import LiftOffer, LiftRequest
from travel.selectors import lifts_on_day
from travel.services import volunteer_block
from volunteers.privacy import Access, mask_phone
from web.coordinators.views import staff_required


def _day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@staff_required(scoped=True)
@require_GET
def lifts(request):
    day = _day(request.GET.get("date"))
    scope = seat_scope_for(request.user)
    seats, offers = lifts_on_day(day=day, seat_filter=scope.q("slot__session__seat"))
    for offer in offers:
        offer.masked_phone = mask_phone(offer.booking.volunteer.phone)
        offer.riders = [(ride, mask_phone(ride.booking.volunteer.phone)) for ride in
                        offer.requests.filter(status__in=LiftRequest.ACTIVE).select_related("booking__volunteer")]
    if offers:
        personal_data_access_log(actor=request.user, action=Access.VIEWED,
                                 volunteer_ids=sorted({offer.booking.volunteer_id for offer in offers}),
                                 detail={"where": "coordinator lifts", "fields": ["phone (masked)"]})
    return render(request, "web/coordinators/lifts.html", {"day": day, "seats": seats, "offers": offers})


@staff_required(scoped=True)
@require_POST
def lift_block(request):
    """Block the driver of an offer, or the rider of a request, from lifts: their open ones end and they are told."""
    scope = seat_scope_for(request.user)
    offer = LiftOffer.objects.filter(token=request.POST.get("offer", "-")).select_related("slot__session").first()
    ride = LiftRequest.objects.filter(token=request.POST.get("request", "-")).select_related(
        "offer__slot__session", "booking").first()
    if ride is not None:
        volunteer_id, seat = ride.booking.volunteer_id, ride.offer.slot.session.seat_id
    elif offer is not None:
        volunteer_id, seat = offer.booking.volunteer_id, offer.slot.session.seat_id
    else:
        raise Http404
    if not scope.allows(seat):
        raise Http404
    try:
        volunteer_block(volunteer_id=volunteer_id, user=request.user, reason=request.POST.get("reason", ""))
    except DomainError as problem:
        messages.error(request, problem.message)
    else:
        personal_data_access_log(actor=request.user, action="lifts_blocked", volunteer_ids=[volunteer_id],
                                 detail={"where": "coordinator lifts"})
        messages.success(request, _("Blocked from lifts. Their open lifts ended and the other side was told."))
    return redirect(reverse("coordinators:lifts") + "?date=" + request.POST.get("date", "")[:10])
