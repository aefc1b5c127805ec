"""Campaign messages, from the volunteer's side (docs/consent.md): the link every campaign message carries, which
withdraws campaign consent (GET shows a button, since link scanners open links; the POST withdraws), and the
choice on "My bookings" (a device remembered for the phone), to give or withdraw it."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from volunteers import devices
from volunteers.consent import CONSENT_CAMPAIGN_TEXT
from volunteers.consent_ledger import campaign_consent_set, campaign_token_read, campaign_withdraw_by_link
from web.volunteer.devices import device_token
from web.volunteer.forms import ConfirmForm


class CampaignForm(forms.Form):
    consent_campaign = forms.BooleanField(label=CONSENT_CAMPAIGN_TEXT, required=False)


@require_http_methods(["GET", "POST"])
def campaign_withdraw(request, token: str):
    """Stop calls to action: campaign consent only (texts and emails about bookings carry on)."""
    form = ConfirmForm(request.POST or None)
    try:
        campaign_token_read(token)
        done = request.method == "POST" and form.is_valid()
        if done:
            campaign_withdraw_by_link(token=token)
    except NotFound:
        return render(request, "web/volunteer/campaign_withdraw.html", {"invalid": True}, status=404)
    response = render(request, "web/volunteer/campaign_withdraw.html", {"form": form, "done": done})
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@require_http_methods(["GET", "POST"])
def my_messages(request):
    """On a device remembered for a phone: whether it gets calls to action, given or withdrawn here."""
    token = device_token(request)
    volunteer = devices.device_volunteer(token=token) if token else None
    if volunteer is None:
        return redirect("volunteer:my")
    bound = request.POST if request.method == "POST" else None  # an unticked box posts nothing: still a POST
    form = CampaignForm(bound, initial={"consent_campaign": volunteer.consent_campaign})
    if request.method == "POST" and form.is_valid():
        campaign_consent_set(volunteer_id=volunteer.pk, given=form.cleaned_data["consent_campaign"], how="form")
        messages.success(request, _("Saved.") if form.cleaned_data["consent_campaign"]
                         else _("Saved: no calls to action. Texts about your bookings carry on."))
        return redirect("volunteer:my_messages")
    response = render(request, "web/volunteer/my_messages.html", {"form": form})
    response["Cache-Control"] = "private, no-store"
    return response
