"""The public pages served from the shared cache (web.cache), their HTTP caching headers, and degraded mode.

Which answers: PUBLIC_PAGES (the home page, the search results, a session's page, the API's session search),
for GET and HEAD only, and only for a request that carries nothing of anyone's: no session cookie (a signed-in
host's pages name them and hold a CSRF token), no messages cookie (a one-off notice), no Authorization header.
Such a request is answered as before with `Cache-Control: private, no-store`. A response is stored only if it
is a 200 that set no cookie, used no CSRF token and showed no message: a cached page can never hold one person's
token, details or notice. The language is part of the key (request.LANGUAGE_CODE), not the cookie header; so is
the searcher's postcode district, not their postcode (the views compute these answers from the district's centre,
docs/caching.md "Results per postcode district").
A page is stored once it has been asked for PAGE_CACHE_ADMIT_AFTER times within its freshness: most search URLs
are asked for once, and storing them cost more than it saved (BENCHMARKS.md, "Shared page cache").

Degraded mode: PostgreSQL unreachable while a view runs (core.errors.UNAVAILABLE_ERRORS), the entry Redis still
holds is served however old (up to PAGE_CACHE_STALE_SECONDS past its freshness) with a banner saying it may be
out of date and that bookings are paused; for PAGE_CACHE_DB_RETRY_SECONDS after that the process serves what it
holds without trying PostgreSQL first. Redis unreachable: the views run as they would without a cache.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.html import escape
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.errors import UNAVAILABLE_ERRORS
from seats.postcodes import district_normalise, district_of, postcode_normalise
from web import cache

HEADER = "X-Frontroom-Cache"  # HIT, MISS, STALE or BYPASS: what the bench counts
_KEPT_HEADERS = ("Content-Type",)
_BANNER_AFTER = b'<main id="main" tabindex="-1">'
_db_down_until = 0.0


def _slot_tags(rows: Iterable[dict]) -> set[str]:
    tags = set()
    for row in rows:
        tags.add(f"session:{row['id']}")
        tags.update(f"slot:{slot['id']}" for slot in row.get("slots") or ())
    return tags


def _api_tags(request, response, kwargs) -> set[str]:
    data = getattr(response, "data", None) or {}
    return _slot_tags(data.get("results") or []) if isinstance(data, dict) else set()


def _session_tags(request, response, kwargs) -> set[str]:
    return {f"session:{kwargs['session_id']}"}


# url name -> the tags of the answer beyond what the view named (page_tags) and `catalogue`; the query parameters
# the view reads (others are left out of the key, so junk parameters cannot multiply the entries); and the one
# parameter holding where the searcher is, keyed by its postcode district (the views compute these answers from
# the district's centre, so "S11 8AB" and "S11 9QH" share one entry and the page discloses only "S11").
PUBLIC_PAGES: dict[str, tuple[Callable, tuple[str, ...], str | None]] = {
    "volunteer:home": (lambda request, response, kwargs: set(), (), None),
    "volunteer:find": (lambda request, response, kwargs: set(),
                       ("postcode", "within", "date_from", "date_to", "seat", "page"), "postcode"),
    "volunteer:session": (_session_tags, ("postcode",), "postcode"),
    "session-list": (_api_tags, ("near", "radius_km", "date_from", "date_to", "seat", "limit", "offset", "mine"),
                     "near"),
}

# The full postcode a volunteer searched with, for their own booking form only (web.volunteer.views.booking reads
# it): never in a shared page, never in a key; sent back to /s/ pages only.
SEARCHED_POSTCODE_COOKIE = "frontroom_postcode"
SEARCHED_POSTCODE_PATH = "/s/"


def page_tags(request, *, rows: Iterable[dict] = (), slot_ids: Iterable[int] = ()) -> None:
    """A view names what its page shows: session rows (with their slots) and slots, so a change to one drops it."""
    tags = getattr(request, "page_cache_tags", None)
    if tags is None:
        tags = request.page_cache_tags = set()
    tags.update(_slot_tags(rows))
    tags.update(f"slot:{slot_id}" for slot_id in slot_ids)


def _personal(request) -> bool:
    cookies = request.COOKIES
    return bool(cookies.get(settings.SESSION_COOKIE_NAME) or cookies.get(CookieStorage.cookie_name)
                or "HTTP_AUTHORIZATION" in request.META)


def _key(request, params: tuple[str, ...], where: str | None) -> str:
    query = sorted((name, (district_of(value) or value) if name == where else value)
                   for name in params for value in request.GET.getlist(name))
    raw = "\n".join([request.scheme, request.get_host(), request.path, getattr(request, "LANGUAGE_CODE", ""),
                     repr(query)])
    return cache.page_key(hashlib.sha256(raw.encode()).hexdigest())


def _storable(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or len(get_messages(request)):
        return False
    directives = response.get("Cache-Control", "").lower()
    return "private" not in directives and "no-store" not in directives


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _public_headers(response, *, computed_ms: int, status: str, age: int = 0) -> None:
    response["Cache-Control"] = (
        f"public, max-age=0, s-maxage={settings.PAGE_CACHE_SHARED_MAX_AGE}, "
        f"stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}, "
        f"stale-if-error={settings.PAGE_CACHE_STALE_SECONDS}")
    response["ETag"] = _etag(response.content)
    response["Last-Modified"] = http_date(computed_ms / 1000)
    response[HEADER] = status
    if age:
        response["Age"] = str(age)


def _from_entry(request, entry: cache.Entry) -> HttpResponse:
    response = HttpResponse(entry.body, status=entry.status)
    for name, value in entry.headers.items():
        response[name] = value
    return response


def _conditional(request, response):
    return get_conditional_response(request, etag=response["ETag"], last_modified=None, response=response)


def _stale(request, found: cache.Lookup) -> HttpResponse:
    """The entry however old, marked: a banner on a page, a Warning header on JSON; not for caches to keep."""
    entry = found.entry
    response = _from_entry(request, entry)
    if response["Content-Type"].startswith("text/html"):
        with override(entry.language):
            banner = _("Frontroom cannot reach its database just now: this page may be out of date, and bookings "
                       "are paused. Please try again in a few minutes.")
        html = f'\n<div class="messages" role="status"><p class="message message-warning">{escape(banner)}</p></div>'
        response.content = entry.body.replace(_BANNER_AFTER, _BANNER_AFTER + html.encode(), 1)
    response["Warning"] = '110 - "Response is Stale"'
    response["Cache-Control"] = "no-cache"
    response["Last-Modified"] = http_date(entry.computed_ms / 1000)
    response["Age"] = str(found.age_s)
    response[HEADER] = "STALE"
    return response


def db_known_down() -> bool:
    return time.monotonic() < _db_down_until


def _db_down() -> None:
    global _db_down_until
    _db_down_until = time.monotonic() + settings.PAGE_CACHE_DB_RETRY_SECONDS


def reset() -> None:
    global _db_down_until
    _db_down_until = 0.0


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response[HEADER] = "BYPASS"
    return response


def _searched_postcode_note(request, raw: str) -> None:
    """A search with a full postcode: remember it (for this volunteer's booking form) on the way out."""
    district = district_of(raw)
    if district is not None and district_normalise(raw) is None:
        request.searched_postcode = postcode_normalise(raw)


def _searched_postcode_keep(response, postcode: str) -> None:
    """The searcher's own postcode in a cookie of theirs: the answer (the district's page, shared in Redis) is then
    theirs alone for any cache outside, which must not keep a Set-Cookie."""
    response.set_cookie(SEARCHED_POSTCODE_COOKIE, postcode.replace(" ", ""), max_age=24 * 3600,
                        path=SEARCHED_POSTCODE_PATH, secure=settings.SESSION_COOKIE_SECURE, httponly=True,
                        samesite="Lax")
    response["Cache-Control"] = "private, no-store"


class PublicPageCacheMiddleware:
    """Serves PUBLIC_PAGES from the shared cache (process_view: the URL is resolved, the language known, and
    nothing before has touched PostgreSQL), serves the stale entry when the view finds PostgreSQL unreachable
    (process_exception), and stores what the view answered (on the way out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._respond(request)
        postcode = getattr(request, "searched_postcode", None)
        if postcode and response.status_code == 200:
            _searched_postcode_keep(response, postcode)
        return response

    def _respond(self, request):
        response = self.get_response(request)
        state = getattr(request, "page_cache", None)
        if state is None or response.has_header(HEADER):  # not a public page, or answered from the cache
            return response
        if state == "personal":
            return _private(response)
        key, found, tags_of, view_kwargs = state
        if response.status_code == 503 and found is not None and found.entry is not None:
            _db_down()  # the API's own error handler answered PostgreSQL being unreachable
            return _stale(request, found)
        if found is None:
            response[HEADER] = "MISS"  # Redis unreachable: computed as ever, with no shared-cache headers
            return response
        if not _storable(request, response):
            return _private(response) if response.status_code == 200 else response
        if found.asked < settings.PAGE_CACHE_ADMIT_AFTER:  # a URL asked once is not worth compressing and storing
            _public_headers(response, computed_ms=found.now_ms, status="MISS")
            return _conditional(request, response)
        tags = {cache.CATALOGUE} | getattr(request, "page_cache_tags", set()) | tags_of(request, response, view_kwargs)
        entry = cache.Entry(status=response.status_code, body=response.content,
                            headers={name: response[name] for name in _KEPT_HEADERS if response.has_header(name)},
                            language=getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE), tags=sorted(tags),
                            computed_ms=found.now_ms)
        cache.store(key, entry)
        _public_headers(response, computed_ms=found.now_ms, status="MISS")
        return _conditional(request, response)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        policy = PUBLIC_PAGES.get(match.view_name if match else "")
        if policy is None or request.method not in ("GET", "HEAD"):
            return None
        if match.view_name == "volunteer:find":  # with the cache on or off alike
            _searched_postcode_note(request, request.GET.get("postcode", ""))
        if not cache.enabled():
            return None
        if _personal(request):
            request.page_cache = "personal"
            return None
        tags_of, params, where = policy
        key = _key(request, params, where)
        found = cache.lookup(key)
        request.page_cache = (key, found, tags_of, view_kwargs)
        if found is None or found.entry is None:
            return None
        if found.good:
            response = _from_entry(request, found.entry)
            _public_headers(response, computed_ms=found.entry.computed_ms, status="HIT", age=found.age_s)
            return _conditional(request, response)
        if db_known_down():
            return _stale(request, found)
        return None

    def process_exception(self, request, exception):
        if not isinstance(exception, UNAVAILABLE_ERRORS):
            return None
        _db_down()
        state = getattr(request, "page_cache", None)
        if isinstance(state, tuple) and state[1] is not None and state[1].entry is not None:
            return _stale(request, state[1])
        return None
