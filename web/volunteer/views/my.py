"""A volunteer's own: their bookings by phone (/my/), their data, the privacy notice, forgetting a device."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, RateLimited
from core.ratelimit import client_ip
from volunteers import devices
from volunteers.disclosure import front_room_disclose, front_rooms_known_to
from volunteers.identity import phone_mask
from volunteers.models import Booking
from volunteers.selectors import bookings_ending_kinds, phone_bookings
from web.volunteer import identity
from web.volunteer.devices import device_cookie_delete, device_token
from web.volunteer.forms import ConfirmForm, PhoneForm, add_domain_error
from web.volunteer.views.codes import code_page, code_resent
from web.volunteer.views.common import booking_or_404, by_machine, rate_limited
from web.volunteer.views.manage import HOLDING


@require_GET
def privacy(request):
    return render(request, "web/volunteer/privacy.html")


@require_http_methods(["GET", "POST"])
def my_data(request, token: str):
    """See (and download) what is stored about the volunteer behind a proven link, or delete it."""
    if request.method == "GET" and by_machine(request):  # what is stored is for the volunteer, not a preview
        booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = booking_or_404(token)
    delete_form = ConfirmForm(request.POST or None)
    if request.method == "POST" and identity.can_delete_data and delete_form.is_valid():
        identity.volunteer_data_delete(manage_token=token)
        messages.success(request, _("Your details are deleted and your places released."))
        return redirect("volunteer:home")
    return render(request, "web/volunteer/my_data.html", {
        "booking": booking, "volunteer": booking.volunteer, "delete_form": delete_form,
        "can_delete": identity.can_delete_data, "export_url": identity.data_export_url(token),
    })


def _my_context(request, volunteer) -> dict:
    now = timezone.now()
    listed = phone_bookings(volunteer_id=volunteer.pk, now=now)
    known = front_rooms_known_to(volunteer_id=volunteer.pk)
    ending = bookings_ending_kinds(bookings=[*listed.upcoming, *listed.past])
    for booking in [*listed.upcoming, *listed.past]:
        booking.ending_kind = ending.get(booking.pk)  # booking_state says why a cancelled place ended
    rows = []
    for booking in listed.upcoming:
        room = front_room_disclose(booking=booking, path="page.my", now=now, known_rooms=known)
        rows.append({"booking": booking, "room": room, "can_cancel": booking.status in HOLDING,
                     "calendar": booking.status != Booking.Status.CANCELLED and booking.proven_at is not None})
    return {"volunteer": volunteer, "upcoming": rows, "past": listed.past, "phone": phone_mask(volunteer.phone),
            "Status": Booking.Status}


@require_http_methods(["GET", "POST"])
def my(request):
    """'My bookings': on a device remembered for a phone, every booking of that phone with its actions; otherwise
    a phone number, then a texted code (my_check). The answer to "send me a code" is the same for every number
    (volunteers.identity.my_bookings_request)."""
    token = device_token(request)
    volunteer = devices.device_volunteer(token=token) if token else None
    if volunteer is not None and request.method == "GET":
        return render(request, "web/volunteer/my.html", _my_context(request, volunteer))
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = identity.my_bookings_request(phone=form.cleaned_data["phone"], client_ip=client_ip(request))
        except RateLimited as exc:
            return rate_limited(request, exc)
        except DomainError as exc:
            add_domain_error(form, exc, default_field="phone")
        else:
            return redirect("volunteer:my_check", token=challenge.token)
    return render(request, "web/volunteer/my_phone.html", {"form": form})


@require_http_methods(["GET", "POST"])
def my_check(request, token: str):
    """The code texted for "my bookings": the right one remembers this device for the phone and shows its list."""
    return code_page(request, token, template="web/volunteer/my_check.html")


@require_POST
def my_resend(request, token: str):
    return code_resent(request, token, back_to="volunteer:my_check")


@require_POST
def forget_device(request):
    """"Forget this device" (a POST with CSRF): its token stops working at once, here and wherever it was copied."""
    devices.device_forget(token=device_token(request))
    messages.success(request, _("This device no longer remembers your phone. Next time we text you a code."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("volunteer:my")
    response = redirect(next_url)
    device_cookie_delete(response)
    return response
