"""The language switch: a plain link on every page (no script, no form, no CSRF token to go stale), which remembers
the choice in Django's language cookie, and for a signed-in host on their account (their emails and texts follow it),
then goes back to the page it came from. Unprefixed URLs: a texted link reads the same in either language."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from sessions.hosts import host_language_set


@require_GET
def language_switch(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """Set the language to `code` (one of settings.LANGUAGES, else 404) and go back to `next` on this site."""
    if code not in dict(settings.LANGUAGES):
        raise Http404
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    if request.user.is_authenticated:
        host_language_set(host=request.user, language=code)
    response["Cache-Control"] = "private, no-store"
    return response
