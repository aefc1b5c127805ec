"""What the coordinators' pages share: the staff check with its seat scope, and the pager's links."""

import functools
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.errors import NotFound
from core.errors import PermissionDenied as DomainPermissionDenied
from core.permissions import is_scoped_organiser
from web.coordinators.forms import SCOPE_ERRORS


def staff_required(view=None, *, scoped: bool = False):
    """Anonymous: to the sign-in page and back. Signed in but not staff: a 403 page. A regional organiser (see
    seats.scopes): a 403 page unless the view is `scoped`, which promises to hand seat_scope_for(request.user)
    to every service it calls; the services' out-of-scope errors become a 404 (a seat, run or message that is
    not theirs) or a 403 (a region that is not theirs, a national-only tool)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_staff:
                raise PermissionDenied
            if not scoped and is_scoped_organiser(request.user):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                if error.code in SCOPE_ERRORS:
                    raise Http404 from None
                raise
            except DomainPermissionDenied as error:
                raise PermissionDenied(error.message) from None

        wrapper.seat_scoped = scoped
        return wrapper

    return decorate(view) if view is not None else decorate


def page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def query_with(params: dict, **changes) -> str:
    merged = {**{k: v for k, v in params.items() if v not in (None, "")}, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def pager_urls(page, params: dict | None = None) -> dict:
    """The links of _pager.html: the newer and older pages of `page`, with the list's other `params` kept."""
    return {
        "previous_url": query_with(params or {}, page=page.previous_page_number()) if page.has_previous() else None,
        "next_url": query_with(params or {}, page=page.next_page_number()) if page.has_next() else None,
    }
