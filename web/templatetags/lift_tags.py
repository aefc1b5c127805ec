from django import template
from django.conf import settings
from django.utils import timezone

from core.errors import InvalidInput
from seats.geocoding import postcode_locate
from travel.selectors import lift_of_booking, offers_listed
from volunteers.models import Booking

register = template.Library()


@register.inclusion_tag("web/volunteer/_lifts.html", takes_context=True)
def lift_panel(context, booking: Booking, automatic: bool = False):
    """The lifts part of a booking's private page: the driver's offer and its requests, or the rider's seat, or
    the lifts near them to ask for (by district, time and seats left), and a way to offer one."""
    request = context["request"]
    slot = booking.slot
    shown = (booking.proven_at is not None and booking.status == Booking.Status.CONFIRMED
             and slot.starts_at > timezone.now() and settings.LIFTS_ENABLED)
    if not shown:
        return {"shown": False}
    lift = lift_of_booking(booking=booking, path="page.lifts", automatic=automatic)
    woman_only = request.GET.get("women") == "1"
    listed = []
    if lift.offer is None and (lift.request is None or lift.request.status not in ("requested", "accepted")):
        try:
            location = postcode_locate(booking.volunteer.postcode)
            near = (location.lat, location.lng)
        except InvalidInput:  # an erased or unknown postcode: list by time only
            near = None
        listed = offers_listed(slot_id=slot.pk, near=near, woman_only=woman_only,
                               not_volunteer_id=booking.volunteer_id, seats_needed=booking.party_size)
    return {"shown": True, "booking": booking, "lift": lift, "listed": listed, "woman_only": woman_only,
            "csrf_token": context.get("csrf_token"), "request": request}
