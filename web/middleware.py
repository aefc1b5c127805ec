"""Turns core.errors.RateLimited raised by a page view, a plain Django view or an authentication backend into a 429.

DRF views answer RateLimited themselves (core.api_errors); this catches the rest: pages get the friendly error
page, /api/ and /twilio/ the JSON error body, both with Retry-After. And the private-link pages' headers.
"""

from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils.cache import patch_vary_headers

from core.errors import UNAVAILABLE_ERRORS, RateLimited
from web.errors import rate_limited, service_unavailable


class RateLimitedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return rate_limited(request, exception)
        return None


# Pages whose URL is a private link (a booking's, a code check's): never cached by a shared cache or the browser,
# never indexed, and never named to another site in a Referer header. "same-origin", not "no-referrer": under
# no-referrer a browser sends `Origin: null` with the page's own form POSTs (Fetch spec), and Django's CSRF check
# refuses them (cancel, decline, the calendar feed buttons).
PRIVATE_LINK_PREFIXES = ("/b/", "/check/", "/n/", "/my/", "/c/", "/r/")  # /c/ a campaign link, /r/ a host's report
PRIVATE_LINK_HEADERS = {"Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex, nofollow",
                        "Cache-Control": "private, no-store"}


class PrivateLinkHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_LINK_PREFIXES):
            for header, value in PRIVATE_LINK_HEADERS.items():
                response[header] = value
        return response


# Every answer under these is someone's: a private link's booking or challenge, a host's or coordinator's page,
# the admin, a roster, an export, a token, a reply to a text. None may be kept by a shared cache (a proxy, a CDN) nor stored by the
# browser after the tab closes: `private, no-store`. Under /api/ only the public catalogue, asked anonymously, is
# not (PUBLIC_API_URL_NAMES); a new API route is private until it is listed there. Public pages are untouched.
PRIVATE_PREFIXES = ("/b/", "/check/", "/n/", "/host/", "/coordinate/", "/admin/", "/api/", "/email/unsubscribe/",
                    "/feeds/", "/my/", "/twilio/", "/c/", "/r/")  # a reply to a text can hold an address
PUBLIC_API_URL_NAMES = frozenset({"api-index", "schema", "docs", "redoc", "seat-list", "seat-detail",
                                  "session-list", "session-detail", "slot-detail"})
PRIVATE_CACHE_CONTROL = "private, no-store"


def response_is_private(request) -> bool:
    if not request.path.startswith(PRIVATE_PREFIXES):
        return False
    match = request.resolver_match
    public = (request.path.startswith("/api/") and match is not None and match.url_name in PUBLIC_API_URL_NAMES
              and "HTTP_AUTHORIZATION" not in request.META)  # a host's token may see their own rows there
    return not public


class PrivateCacheControlMiddleware:
    """`Cache-Control: private, no-store` on every private answer (response_is_private), errors included, unless
    the view already said as much (Django's never_cache says more: no-cache, must-revalidate too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response_is_private(request):
            directives = {d.strip().split("=")[0].lower() for d in response.get("Cache-Control", "").split(",")}
            if not {"private", "no-store"} <= directives or directives & {"public", "s-maxage"}:
                response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response


class ServiceUnavailableMiddleware:
    """PostgreSQL unreachable (or the broker a view needed) while a view runs: 503 with Retry-After, never a 500.

    DRF views answer these themselves (core.api_errors); web.errors.handler500 catches the ones raised outside
    a view (a middleware reading the session, say).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UNAVAILABLE_ERRORS):
            return service_unavailable(request, exception)
        return None


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's: the language of the switch's cookie, else of Accept-Language, else English (URLs unprefixed). Every
    answer varies by both, so no cache serves an English page for Welsh or the other way round."""

    def process_response(self, request, response):
        response = super().process_response(request, response)  # Vary: Accept-Language, Content-Language
        patch_vary_headers(response, ("Cookie",))
        return response
