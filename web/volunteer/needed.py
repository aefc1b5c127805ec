""""Send me where I'm needed": the sign-up form, and the sign-up's private page (/n/<token>) to change or stop.

Thin views, as the rest of the volunteers' pages: bind a form, call one service (volunteers.identity for the
sign-up, volunteers.signup for the private link), render; every write is a POST answered with a redirect.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError, NotFound, RateLimited
from core.ratelimit import client_ip, limit_ip
from volunteers import signup
from volunteers.availability import choices_from_windows
from volunteers.consent_ledger import challenge_campaign_said
from volunteers.links import opened_automatically
from web.errors import rate_limited
from web.volunteer import identity
from web.volunteer.forms import ConfirmForm, NeededChangeForm, NeededForm, add_domain_error, travel_choice


def _signup_or_404(token: str):
    try:
        return signup.signup_by_link(token=token)
    except NotFound:
        raise Http404(_("Not found.")) from None


@require_http_methods(["GET", "POST"])
@limit_ip("signup_ip")
def needed(request):
    """The sign-up: who, where from, how far and when; the phone is proven by the texted code (check)."""
    form = NeededForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            challenge = identity.volunteer_signup_request(
                name=data["name"], phone=data["phone"], postcode=data["postcode"],
                max_travel_km=float(data["max_travel_km"]), availability=data["availability"],
                consent_sms=data["consent_sms"], client_ip=client_ip(request), travel=data["travel"],
                car_seats=data["car_seats"] or 0, party_size=data.get("party_size", 1),
                party_names=data.get("party_names", ""))
            if data["consent_campaign"]:  # counts once the phone is proven (volunteers.consent_ledger)
                challenge_campaign_said(challenge=challenge, given=True)
        except RateLimited as exc:
            return rate_limited(request, exc)
        except DomainError as exc:
            add_domain_error(form, exc, default_field=None)
        else:
            return redirect("volunteer:check", token=challenge.token)
    return render(request, "web/volunteer/needed.html", {"form": form})


@require_GET
def signup_page(request, token: str):
    """The sign-up's private page: what happens next, the times given, and the links to change or stop. Opened
    before the code is typed, it sends the holder of the text to type it."""
    try:
        volunteer = signup.signup_by_link(token=token)
    except NotFound:
        pending = signup.signup_pending_challenge(token=token)
        if pending is None:
            raise Http404(_("Not found.")) from None
        return redirect("volunteer:check", token=pending)
    # A link preview or scanner gets the page without the volunteer's details.
    automatic = opened_automatically(method=request.method, user_agent=request.headers.get("User-Agent"))
    windows = [] if automatic else signup.signup_windows(volunteer)
    return render(request, "web/volunteer/needed_signup.html", {
        "token": token, "volunteer": None if automatic else volunteer, "windows": windows,
        "active": bool(windows) or automatic})


@require_http_methods(["GET", "POST"])
def signup_change(request, token: str):
    volunteer = _signup_or_404(token)
    form = NeededChangeForm(request.POST or None, chosen=choices_from_windows(signup.signup_windows(volunteer)),
                            initial={"max_travel_km": int(volunteer.max_travel_km or 10), "postcode": volunteer.postcode,
                                     "travel": travel_choice(volunteer), "others": volunteer.party_size - 1,
                                     "party_names": volunteer.party_names})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signup.signup_change(token=token, availability=data["availability"],
                                 max_travel_km=float(data["max_travel_km"]), postcode=data["postcode"],
                                 travel=data.get("travel") or None, car_seats=data.get("car_seats") or 0,
                                 party_size=data.get("party_size"), party_names=data.get("party_names", ""))
        except NotFound:
            raise Http404(_("Not found.")) from None
        except DomainError as exc:
            add_domain_error(form, exc, default_field="when")
        else:
            messages.success(request, _("Saved: we'll only send you at the times you've ticked."))
            return redirect("volunteer:signup", token=token)
    return render(request, "web/volunteer/needed_change.html", {"form": form, "token": token})


@require_http_methods(["GET", "POST"])
def signup_stop(request, token: str):
    """Stop being sent anywhere, after a confirmation (the button is the form)."""
    _signup_or_404(token)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signup.signup_stop(token=token)
        messages.success(request, _("Done: we won't send you anywhere. Any place you've booked stays booked."))
        return redirect("volunteer:signup", token=token)
    return render(request, "web/volunteer/needed_stop.html", {"form": form, "token": token})
