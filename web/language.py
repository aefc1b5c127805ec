"""The language switch: a plain link on every page (no script, no form, no CSRF token to go stale), which remembers
the choice in Django's language cookie, and for a signed-in host on their account (their emails and texts follow it),
then goes back to the page it came from. Unprefixed URLs: a texted link reads the same in either language."""

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from sessions.hosts import host_language_set


def _back(request: HttpRequest) -> str:
    """Where the switch was clicked: `next` if given, else the Referer (the link itself carries no path, so every
    page's HTML is the same whatever its URL, 404s included); only ever a page of this site, else the home page."""
    back = request.GET.get("next") or request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return back
    return "/"


@require_GET
def language_switch(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """Set the language to `code` (one of settings.LANGUAGES; any other changes nothing) and go back."""
    response = HttpResponseRedirect(_back(request))
    response["Cache-Control"] = "private, no-store"
    if code not in dict(settings.LANGUAGES):
        return response
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    # A link on another site can switch a visitor's language too (harmless: a cookie they switch back), but only the
    # host's own click on our page changes the language of their emails (browsers say where a navigation came from).
    if request.user.is_authenticated and request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none"):
        host_language_set(host=request.user, language=code)
    return response
