"""Finding a session: the home page, results for a postcode, a session's public page and its preview."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_GET, require_safe

from core.errors import InvalidInput, NotFound
from dispatch.services.suggestions import RANKED_POOL, sessions_ranked_near
from seats.geocoding import postcode_locate
from seats.postcodes import district_of
from seats.selectors import seats_summary, seats_that_matter_near
from sessions.selectors import session_public
from web.page_cache import page_tags
from web.preview import preview_version, session_preview_png
from web.volunteer.forms import SearchForm, add_domain_error
from web.volunteer.views.common import not_found

PAGE_SIZE = 10  # divides RANKED_POOL: no results page straddles the ranked pool and the nearest-first rest
assert RANKED_POOL % PAGE_SIZE == 0


@require_GET
def home(request):
    return render(request, "web/volunteer/home.html", {"form": SearchForm(), "is_home": True})


@require_GET
def find(request):
    """Results for a postcode, first thing on the screen: a one-line summary of the search (with "change", a link
    to the form below it), the sessions ranked as suggestions are, each with why its seat matters, then the
    seats that matter near the postcode, each a link to its own sessions."""
    form = SearchForm(request.GET) if "postcode" in request.GET else SearchForm()
    context = {"form": form}
    if form.is_bound and form.is_valid() and district_of(form.cleaned_data["postcode"]):
        form.data = form.data.copy()  # the page is the district's, shared: it shows no one's full postcode
        form.data["postcode"] = district_of(form.cleaned_data["postcode"])
    if form.is_bound and form.is_valid():
        try:
            # Computed for the postcode's district (its centre): the page is shared by everyone in it through the
            # page cache (web.page_cache keys it by district) and says only "near S11"; the full postcode goes to
            # the searcher's own booking form in a cookie of theirs (web.page_cache.SEARCHED_POSTCODE_COOKIE).
            location = postcode_locate(_district(form.cleaned_data["postcode"]))
        except InvalidInput as exc:
            add_domain_error(form, exc, default_field="postcode")
        else:
            date_from, date_to = form.date_range()
            page_number = form.page_number()
            seat_code = form.seat_code()
            ranked = sessions_ranked_near(
                lat=location.lat, lng=location.lng, radius_km=form.radius_km(), limit=PAGE_SIZE,
                offset=(page_number - 1) * PAGE_SIZE, date_from=date_from, date_to=date_to, seat_code=seat_code,
            )
            page_tags(request, rows=ranked.sessions)  # web.page_cache: a change to one of them drops this page
            query = {key: value for key, value in form.cleaned_data.items() if value and key not in ("page", "seat")}
            query["postcode"] = location.postcode
            nearby: dict = {}
            seats = seats_that_matter_near(lat=location.lat, lng=location.lng, nearby=nearby)
            if seat_code:
                query["seat"] = seat_code
            card_seats = seats_summary(codes={row["seat"]["ons_code"] for row in ranked.sessions} | (
                {seat_code} if seat_code else set()), nearby=nearby)
            context.update({
                "location": location, "sessions": ranked.sessions, "page_number": page_number,
                "count": ranked.count, "count_exact": ranked.count_exact, "card_seats": card_seats,
                "seat_code": seat_code, "seat_filter": card_seats.get(seat_code) if seat_code else None,
                "seats": [(seat, distance, _find_url({**query, "seat": seat.ons_code}, 1)) for seat, distance in seats],
                "all_seats_url": _find_url({k: v for k, v in query.items() if k != "seat"}, 1),
                "next_url": _find_url(query, page_number + 1) if ranked.has_more else None,
                "previous_url": _find_url(query, page_number - 1) if page_number > 1 else None,
                "postcode_query": urlencode({"postcode": location.postcode}),
                "date_from": form.cleaned_data.get("date_from"), "date_to": form.cleaned_data.get("date_to"),
                "radius": int(form.radius_km()),
            })
    return render(request, "web/volunteer/results.html", context)


def _district(raw: str) -> str:
    """The district of a full postcode or of a district; a malformed one unchanged (postcode_locate names it)."""
    return district_of(raw) or raw


def _find_url(query: dict, page: int) -> str:
    params = {key: str(value) for key, value in query.items()}
    if page > 1:
        params["page"] = str(page)
    return f"{reverse('volunteer:find')}?{urlencode(params)}"


def session_or_404(session_id: int):
    try:
        return session_public(session_id=session_id)
    except NotFound:
        raise not_found() from None


@require_GET
def session_detail(request, session_id: int):
    session = session_or_404(session_id)
    postcode = district_of(request.GET.get("postcode", "")[:10]) or ""  # the district: the page is shared by it
    slots = session.upcoming_slots
    page_tags(request, slot_ids=[slot.pk for slot in slots])  # web.page_cache
    return render(request, "web/volunteer/session.html", {
        "session": session, "slots": slots, "postcode": postcode,
        "free_slots": sum(1 for slot in slots if slot.places_left),
        "book_query": urlencode({"postcode": postcode}) if postcode else "",
        "share_url": request.build_absolute_uri(reverse("volunteer:session", args=[session.pk])),
    })


@require_safe
def session_preview(request, session_id: int):
    """The session's link preview (web.preview): a 404 like its page, 304 for the version the client has.
    Public and shared caches may keep it: it shows only what the page shows."""
    session = session_or_404(session_id)
    etag = f'"{preview_version(session)}"'
    last_modified = int(session.updated_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(session_preview_png(session), content_type="image/png")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={settings.PREVIEW_MAX_AGE}"
    return response
