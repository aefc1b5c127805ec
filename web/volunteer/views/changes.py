"""Changing a booking by its link: moving it to another slot, cancelling it, declining a redirect."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError, NotFound, RateLimited
from core.ratelimit import limit_ip
from dispatch.services.overflow import booking_redirect_decline
from dispatch.services.suggestions import slot_alternatives
from sessions.selectors import slot_move_choices
from volunteers.models import Booking, BookingEvent
from volunteers.services import SWAPPABLE_STATUSES, booking_cancel, booking_swap
from web.volunteer.forms import ConfirmForm, SwapForm, add_domain_error
from web.volunteer.views.common import booking_or_404, not_found, rate_limited


def swappable(booking: Booking) -> bool:
    return booking.status in SWAPPABLE_STATUSES and booking.slot.ends_at > timezone.now()


def booking_moved_to(booking: Booking) -> Booking | None:
    """The booking a swap made from this one (its cancellation event names it), for a link from the old page."""
    if booking.status != Booking.Status.CANCELLED:
        return None
    event = (BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.CANCELLED,
                                         payload__swapped_to__isnull=False).order_by("-id").first())
    if event is None:
        return None
    return Booking.objects.filter(pk=event.payload["swapped_to"], volunteer_id=booking.volunteer_id).first()


@require_http_methods(["GET", "POST"])
@limit_ip("booking_ip")  # a move is a booking: per client address, as the API's; the service counts per phone
def swap(request, token: str):
    """Choose another slot in one step: the other slots of this session and open slots nearby (slot_move_choices,
    which the service checks too); the service takes the new place and gives the old one back in one transaction,
    or changes nothing (the new booking is proven)."""
    booking = booking_or_404(token)
    if not swappable(booking):
        messages.error(request, _("This booking can no longer be moved."))
        return redirect("volunteer:manage", token=token)
    session = booking.slot.session
    now = timezone.now()
    same = list(slot_move_choices(slot=booking.slot, now=now).filter(session=session).order_by("starts_at", "id"))
    nearby = [s for s in slot_alternatives(slot=booking.slot, lat=booking.volunteer.lat, lng=booking.volunteer.lng)
              if s.slot.session_id != session.pk]
    form = SwapForm(request.POST or None, slots=same + [s.slot for s in nearby])
    if request.method == "POST" and form.is_valid():
        try:
            new = booking_swap(manage_token=token, slot_id=form.cleaned_data["slot"],
                               waitlist_when_full=form.cleaned_data["waitlist"])
        except RateLimited as exc:
            return rate_limited(request, exc)
        except NotFound:
            form.add_error("slot", _("That slot is no longer offered. Choose another."))
        except DomainError as exc:
            add_domain_error(form, exc, default_field="slot")
        else:
            if new.status == Booking.Status.WAITLISTED:
                messages.success(request, _("Done: you're on the waitlist of your new slot, and your old place is "
                                            "released. We've texted you this page's link."))
            else:
                messages.success(request, _("Done: this is your new place, and your old one is released. We've "
                                            "texted you this page's link."))
            return redirect("volunteer:manage", token=new.manage_token)
    for slot in same:
        slot.session = session
    return render(request, "web/volunteer/swap.html", {
        "booking": booking, "slot": booking.slot, "session": session, "form": form, "same": same, "nearby": nearby,
        "chosen": str(form["slot"].value() or ""), "holds_place": booking.status == Booking.Status.CONFIRMED,
    })


@require_http_methods(["GET", "POST"])
def cancel(request, token: str):
    """Cancel with a confirmation step: GET asks, POST does (idempotent), then back to the manage page."""
    booking = booking_or_404(token)
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        if form.is_valid():
            try:
                booking_cancel(manage_token=token)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Your place is cancelled."))
            return redirect("volunteer:manage", token=token)
    return render(request, "web/volunteer/cancel.html", {"booking": booking, "slot": booking.slot,
                                                           "session": booking.slot.session, "form": ConfirmForm()})


@require_POST
def decline(request, token: str):
    """Turn an overflow move down, then show the first choice's page, saying where it stands now: a repeated
    press after a place opened there says so rather than "back on the waitlist"."""
    booking_or_404(token)
    try:
        first_choice = booking_redirect_decline(manage_token=token)
    except NotFound:
        raise not_found() from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("volunteer:manage", token=token)
    if first_choice.status == Booking.Status.WAITLISTED:
        messages.success(request, _("Done: you are back on the waitlist of your first choice."))
    elif first_choice.status == Booking.Status.CONFIRMED:
        messages.success(request, _("You turned the move down, and a place has opened on your first choice since: "
                                    "you're booked there."))
    else:
        messages.info(request, _("You turned the move down already. This is your first choice as it stands."))
    return redirect("volunteer:manage", token=first_choice.manage_token)
