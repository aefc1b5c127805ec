"""The unsubscribe link in every email. GET shows a button (link scanners open links; they must not unsubscribe
anyone); POST stops the emails, whether from that button or a mail app's one-click unsubscribe (RFC 8058: a POST
with ``List-Unsubscribe=One-Click``, no cookies, hence no CSRF token: the signed token is the authority)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from notify.email.services import email_unsubscribe
from notify.email.services.unsubscribe import token_read


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    context = {"site": settings.SITE_NAME}
    try:
        if request.method == "POST":
            context.update(done=True, host=email_unsubscribe(token=token) == "host")
        else:
            context["host"] = token_read(token)[0] == "host"
    except NotFound:
        return render(request, "email/unsubscribe_invalid.html", context, status=404)
    response = render(request, "email/unsubscribe.html", context)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
