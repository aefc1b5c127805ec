"""What a host is told, and how: the notification settings and proving their mobile."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.ratelimit import client_ip
from notify.host_notifications import host_notifications_get, host_notifications_set
from notify.sms.services import host_mobile_code_resend, host_mobile_verify
from volunteers.identity import phone_mask
from web.hosts import forms
from web.hosts.forms import form_errors_from
from web.hosts.views.common import posted


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    """Each booking and cancellation on the host's sessions by email, by text, both or neither; a daily digest.
    A new mobile is texted a code, asked for on this page (notifications_code) before any text goes to it."""
    current = host_notifications_get(host=request.user)
    initial = {"each": current.each, "digest": current.digest, "digest_text": current.digest_text,
               "email": current.email, "mobile": current.mobile}
    form = forms.NotificationsForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = host_notifications_set(host=request.user, client_ip=client_ip(request), **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(exc, form)
        else:
            if saved.code_sent and not (current.code_sent and current.mobile == saved.mobile):
                messages.success(request, _("Saved. We have texted a code to %(mobile)s: type it below, and texts "
                                            "start.") % {"mobile": phone_mask(saved.mobile)})
            else:
                messages.success(request, _("Saved: how you hear of bookings."))
            return redirect("hosts:notifications")
    return _notifications_page(request, current, form=form)


def _notifications_page(request, current, *, form=None, code_form=None):
    if form is None:
        form = forms.NotificationsForm(initial={"each": current.each, "digest": current.digest,
                                                "digest_text": current.digest_text, "email": current.email,
                                                "mobile": current.mobile})
    texts = current.each in ("text", "both") or current.digest_text
    return render(request, "web/hosts/notifications.html", {
        "form": form, "texts_stopped": current.texts_stopped, "current": current,
        "mobile_masked": phone_mask(current.mobile) if current.mobile else "",
        "ask_code": texts and bool(current.mobile) and not current.mobile_proven,
        "code_form": code_form or forms.MobileCodeForm(),
    })


@login_required
@require_POST
def notifications_code(request):
    """The code texted to the host's mobile: right, the mobile is proven and texts flow; wrong, the page again
    with the reason (and the tries left) by the field."""
    form = forms.MobileCodeForm(request.POST)
    if form.is_valid():
        try:
            host_mobile_verify(host=request.user, code=form.cleaned_data["code"], client_ip=client_ip(request))
        except DomainError as exc:
            # A wrong code's own field message says how many tries are left.
            detail = (exc.fields or {}).get("code") if exc.code == "code_wrong" else None
            form.add_error("code", f"{exc.message} {detail[0]}" if detail else exc.message)
        else:
            messages.success(request, _("Your mobile is proven: we will text it about bookings."))
            return redirect("hosts:notifications")
    return _notifications_page(request, host_notifications_get(host=request.user), code_form=form)


@login_required
@require_POST
def notifications_code_new(request):
    """Text the host's saved, unproven mobile a new code (the old one stops working)."""
    try:
        proof = host_mobile_code_resend(host=request.user, client_ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("We have texted a new code to %(mobile)s.") % {"mobile": phone_mask(proof.phone)})
    return redirect("hosts:notifications")
