"""The code pages: typing the texted code (/check/), and a new code."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError, NotFound, RateLimited
from core.ratelimit import client_ip
from volunteers import devices
from volunteers.identity import phone_mask
from volunteers.models import Booking
from volunteers.signup import signup_challenge_is
from web.volunteer import identity
from web.volunteer.devices import device_cookie_set, device_token
from web.volunteer.forms import CodeForm, add_domain_error
from web.volunteer.views.common import not_found, rate_limited


@require_http_methods(["GET", "POST"])
def check(request, token: str):
    """'Check your phone': what happens next, and the code from the text (PRG to the booking's private page, or to
    the list of bookings for a request for several slots). The device that typed the right code is remembered for
    the phone (volunteers.devices): its next booking needs no code."""
    return code_page(request, token, template="web/volunteer/check.html")


def code_page(request, token: str, *, template: str) -> HttpResponse:
    """A code page (/check/ or /my/check/): the form, then wherever the right code leads (_proven_page)."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            proven = identity.challenge_verify(challenge_token=token, code=form.cleaned_data["code"],
                                               client_ip=client_ip(request))
        except RateLimited as exc:
            return rate_limited(request, exc)
        except NotFound:
            raise not_found() from None
        except DomainError as exc:
            add_domain_error(form, exc, default_field="code")
        else:
            return _proven_page(request, proven)
    return render(request, template, {"form": form, "token": token,
                                      "signup": signup_challenge_is(challenge_token=token)})


def _proven_page(request, proven) -> HttpResponse:
    """Where a right code leads, whichever page it was typed on: a booking's page, My bookings, or a sign-up's
    page; the device is remembered for the phone."""
    if isinstance(proven, Booking):
        return _remembered(request, redirect("volunteer:manage", token=proven.manage_token),
                           volunteer_id=proven.volunteer_id)
    if isinstance(proven, identity.PhoneProven):
        if proven.volunteer is None:
            messages.info(request, _("There are no bookings for %(phone)s.") % {"phone": phone_mask(proven.phone)})
            return redirect("volunteer:my")
        return _remembered(request, redirect("volunteer:my"), volunteer_id=proven.volunteer.pk)
    messages.success(request, _("You're signed up."))
    return _remembered(request, redirect("volunteer:signup", token=proven.token), volunteer_id=proven.pk)


def _remembered(request, response, *, volunteer_id: int | None):
    """Remember this device for the phone it has just proven (replacing whatever phone it remembered)."""
    if volunteer_id is not None:
        device_cookie_set(response, request, devices.device_remember(
            volunteer_id=volunteer_id, user_agent=request.headers.get("User-Agent", ""),
            replacing=device_token(request)))
    return response


def code_resent(request, token: str, *, back_to: str) -> HttpResponse:
    """"Send me a new code" on a code page (a booking's, a sign-up's or My bookings'), then back to that page."""
    try:
        identity.challenge_resend(challenge_token=token, client_ip=client_ip(request))
    except RateLimited as exc:
        return rate_limited(request, exc)
    except NotFound:
        raise not_found() from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("We've sent a new code. It replaces the old one."))
    return redirect(back_to, token=token)


@require_POST
def resend(request, token: str):
    return code_resent(request, token, back_to="volunteer:check")
