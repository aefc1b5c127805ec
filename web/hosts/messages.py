"""A host's message to their session's proven volunteers: write it, see the preview (how many it reaches by text
and by email, how many it can't, the texts' cost and the text as sent), then send it. No JavaScript: the preview
is a POST that renders the same form again with a "Send" button; the send is a second POST
(notify.messaging.message_send)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, NotFound, RateLimited
from notify.messaging import message_preview, message_send
from notify.messaging.audience import audience_for_host
from web.message_forms import MessageForm, sent_summary
from web.volunteer.forms import add_domain_error


@login_required
@require_http_methods(["GET", "POST"])
def session_message(request, session_id: int):
    try:
        audience = audience_for_host(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None
    form = MessageForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "send":
                broadcast = message_send(sender=request.user, audience=audience, purpose=data["purpose"],
                                         body=data["body"])
                messages.success(request, sent_summary(broadcast))
                return redirect("hosts:session_detail", session_id=audience.session.pk)
            preview = message_preview(audience=audience, purpose=data["purpose"], body=data["body"])
        except RateLimited as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            add_domain_error(form, exc, default_field="body")
    return render(request, "web/hosts/session_message.html", {
        "session": audience.session, "form": form, "preview": preview,
        "title": _("Message your volunteers")})
