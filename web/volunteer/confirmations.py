"""The booking page's part of confirm or release (volunteers.confirmations): "I'm coming" and "Take the place",
each a deliberate press (a form with CSRF, so a link scanner confirms nothing), then back to the page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from volunteers.confirmations import booking_confirm_by_link, confirm_deadline, confirm_required
from volunteers.models import Booking


def told_times(booking: Booking) -> dict:
    """The times the page's words name (web.volunteer.states.booking_told): an offer's deadline, and the deadline
    of a session that releases places not confirmed."""
    times = {}
    if booking.offer_expires_at is not None:
        times["until"] = f"{timezone.localtime(booking.offer_expires_at):%H:%M}"
    if confirm_required(booking.slot.session):
        times["confirm_by"] = f"{timezone.localtime(confirm_deadline(booking.slot)):%H:%M}"
    return times


@require_POST
def confirm(request, token: str):
    """"I'm coming" on a booked place, or "Take the place" on an offer: one service, one message."""
    try:
        offered = Booking.objects.filter(manage_token=token, offer_expires_at__isnull=False).exists()
        booking_confirm_by_link(manage_token=token)
    except NotFound:
        raise Http404(_("Not found.")) from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("It's yours: the address is below, and we text it to you too.") if offered
                         else _("Thank you: you're confirmed. See you there!"))
    return redirect("volunteer:manage", token=token)
