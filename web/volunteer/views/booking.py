"""Booking a place (or several) on a session's slots."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core.db import pk_in_range
from core.errors import DomainError, InvalidInput, RateLimited
from core.ratelimit import client_ip, limit_ip
from dispatch.services.suggestions import slot_alternatives
from seats.geocoding import postcode_locate
from seats.postcodes import district_normalise, district_of, postcode_normalise
from sessions.models import Slot
from volunteers import devices
from volunteers.booking_sets import MAX_SLOTS_AT_ONCE, bookings_ask
from volunteers.identity import phone_mask
from volunteers.models import PhoneChallenge
from web.page_cache import SEARCHED_POSTCODE_COOKIE
from web.volunteer.devices import device_token
from web.volunteer.forms import BookingForm, add_domain_error, national_phone
from web.volunteer.views.common import rate_limited
from web.volunteer.views.search import session_or_404


def _slot_of(session, raw_slot_id):
    """The session's slot named in the query string, if it is still offered; None for junk or another's slot."""
    try:
        slot_id = int(str(raw_slot_id))
    except (TypeError, ValueError):
        return None
    if not pk_in_range(Slot, slot_id):
        return None
    return next((slot for slot in session.upcoming_slots if slot.pk == slot_id), None)


@require_http_methods(["GET", "POST"])
@limit_ip("booking_ip")  # per client address, as the API's; the services count per phone
def book(request, session_id: int):
    """One slot, or several ticked on the session page (?slot=1&slot=2): one form and one code for them all, all or
    nothing (volunteers.booking_sets). On a device remembered for the phone typed, no code: booked at once."""
    session = session_or_404(session_id)
    raw = request.GET.getlist("slot")[:MAX_SLOTS_AT_ONCE + 1]
    slots = [_slot_of(session, value) for value in dict.fromkeys(raw)]
    if not slots or None in slots or len(slots) > MAX_SLOTS_AT_ONCE:
        messages.error(request, _("That slot is no longer offered. Choose one of these.") if len(raw) < 2
                       else _("One of those slots is no longer offered. Choose again."))
        return redirect("volunteer:session", session_id=session.pk)
    for slot in slots:
        slot.session = session
    slot = slots[0]
    token = device_token(request)
    remembered = devices.device_volunteer(token=token) if token else None
    if request.method == "POST":
        form = BookingForm(request.POST)
        if form.is_valid():
            try:
                asked = bookings_ask(slot_ids=[s.pk for s in slots], client_ip=client_ip(request),
                                     device_token=token if remembered else None, **form.cleaned_data)
            except RateLimited as exc:
                return rate_limited(request, exc)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if isinstance(asked, PhoneChallenge):
                    return redirect("volunteer:check", token=asked.token)
                messages.success(request, ngettext(
                    "Booked on this device without a code: it remembers your phone.",
                    "All %(count)s booked on this device without a code: it remembers your phone.",
                    len(asked)) % {"count": len(asked)})
                if len(asked) == 1:
                    return redirect("volunteer:manage", token=asked[0].manage_token)
                return redirect("volunteer:my")
    else:
        initial = {"postcode": _postcode_searched(request)}
        if remembered is not None:  # this device proved the phone: its details, as the form would take them
            initial.update(name=remembered.name, phone=national_phone(remembered.phone), email=remembered.email,
                           postcode=remembered.postcode, consent_sms=remembered.consent_sms,
                           consent_email=remembered.consent_email and remembered.email_opted_out_at is None)
        form = BookingForm(initial=initial)
    alternatives = []
    if len(slots) == 1 and slot.places_left == 0:
        alternatives = slot_alternatives(slot=slot, **_point_of(form))
    response = render(request, "web/volunteer/book.html", {
        "session": session, "slot": slot, "slots": slots, "several": len(slots) > 1, "form": form,
        "alternatives": alternatives, "remembered": remembered,
        "remembered_phone": phone_mask(remembered.phone) if remembered else "",
        "full": [s for s in slots if not s.places_left] if len(slots) > 1 else [],
        "postcode_query": urlencode({"postcode": form["postcode"].value() or ""}),
    })
    if token:  # a remembered device's page carries its volunteer's details: for this browser only
        response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ["Cookie"])
    return response


def _postcode_searched(request) -> str:
    """The postcode to prefill: the full one this volunteer searched with (their own cookie, set by the results
    page: web.page_cache) when it is in the district the shared pages carried here, else what they carried."""
    carried = request.GET.get("postcode", "")[:10]
    searched = request.COOKIES.get(SEARCHED_POSTCODE_COOKIE, "")[:10]
    if searched and district_normalise(searched) is None and district_of(searched) and (
            not carried or district_of(carried) == district_of(searched)):
        return postcode_normalise(searched)
    return carried


def _point_of(form) -> dict:
    """The volunteer's point if the postcode they typed is known (for distances to alternatives), else none."""
    raw = form["postcode"].value()
    if not raw:
        return {}
    try:
        location = postcode_locate(raw)
    except InvalidInput:
        return {}
    return {"lat": location.lat, "lng": location.lng}
