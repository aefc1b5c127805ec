"""Volunteers' pages (no account): find a session, book a place, prove the phone, manage the booking.

Every view binds a form, calls one service or selector and renders; the domain errors the API maps become
inline messages here. Writes answer with a redirect (POST-redirect-GET), so the journey works without script.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from core.db import pk_in_range
from core.errors import DomainError, InvalidInput, NotFound, RateLimited
from core.ratelimit import client_ip, limit_ip
from dispatch.services.overflow import booking_redirect_decline, booking_redirect_move, redirect_declinable
from dispatch.services.suggestions import RANKED_POOL, sessions_ranked_near, slot_alternatives
from seats.geocoding import postcode_locate
from seats.selectors import seats_summary, seats_that_matter_near
from sessions.models import Slot
from sessions.selectors import session_public, slot_move_choices
from volunteers import devices
from volunteers.booking_sets import MAX_SLOTS_AT_ONCE, bookings_ask
from volunteers.calendar import booking_calendar
from volunteers.disclosure import front_room_disclose, front_rooms_known_to
from volunteers.feeds import calendar_feed_ensure, calendar_feed_for, calendar_feed_reset, feed_url
from volunteers.identity import phone_mask
from volunteers.links import opened_automatically
from volunteers.models import Booking, BookingEvent, PhoneChallenge
from volunteers.selectors import booking_clash, booking_ending_kind, phone_bookings
from volunteers.services import SWAPPABLE_STATUSES, booking_cancel, booking_swap
from volunteers.signup import signup_challenge_is
from web.preview import preview_version, session_preview_png
from web.volunteer import identity
from web.volunteer.confirmations import told_times
from web.volunteer.devices import device_cookie_delete, device_cookie_set, device_token
from web.volunteer.forms import (
    BookingForm,
    CodeForm,
    ConfirmForm,
    EmailForm,
    PhoneForm,
    SearchForm,
    SwapForm,
    add_domain_error,
    national_phone,
)
from web.volunteer.states import Action, State, booking_state, booking_told, confirm_asked

PAGE_SIZE = 10  # divides RANKED_POOL: no results page straddles the ranked pool and the nearest-first rest
assert RANKED_POOL % PAGE_SIZE == 0


def _rate_limited(request, exc: RateLimited) -> HttpResponse:
    response = render(request, "web/error.html", {
        "title": _("Please wait a little"), "message": _("Too many attempts from here in a short time."),
        "retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _not_found() -> Http404:
    return Http404(_("Not found."))


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
    if form.is_bound and form.is_valid():
        try:
            location = postcode_locate(form.cleaned_data["postcode"])
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


def _find_url(query: dict, page: int) -> str:
    params = {key: str(value) for key, value in query.items()}
    if page > 1:
        params["page"] = str(page)
    return f"{reverse('volunteer:find')}?{urlencode(params)}"


def _session_or_404(session_id: int):
    try:
        return session_public(session_id=session_id)
    except NotFound:
        raise _not_found() from None


@require_GET
def session_detail(request, session_id: int):
    session = _session_or_404(session_id)
    postcode = request.GET.get("postcode", "")[:10]
    slots = session.upcoming_slots
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
    session = _session_or_404(session_id)
    etag = f'"{preview_version(session)}"'
    last_modified = int(session.updated_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(session_preview_png(session), content_type="image/png")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={settings.PREVIEW_MAX_AGE}"
    return response


def _slot_of(session, raw_slot_id):
    """The session's slot named in the query string, if it is still offered; None for junk or another's slot."""
    try:
        slot_id = int(str(raw_slot_id))
    except (TypeError, ValueError):
        return None
    if not pk_in_range(Slot, slot_id):
        return None
    return next((slot for slot in session.upcoming_slots if slot.pk == slot_id), None)


@require_http_methods(["GET", "POST"])
@limit_ip("booking_ip")  # per client address, as the API's; the services count per phone
def book(request, session_id: int):
    """One slot, or several ticked on the session page (?slot=1&slot=2): one form and one code for them all, all or
    nothing (volunteers.booking_sets). On a device remembered for the phone typed, no code: booked at once."""
    session = _session_or_404(session_id)
    raw = request.GET.getlist("slot")[:MAX_SLOTS_AT_ONCE + 1]
    slots = [_slot_of(session, value) for value in dict.fromkeys(raw)]
    if not slots or None in slots or len(slots) > MAX_SLOTS_AT_ONCE:
        messages.error(request, _("That slot is no longer offered. Choose one of these.") if len(raw) < 2
                       else _("One of those slots is no longer offered. Choose again."))
        return redirect("volunteer:session", session_id=session.pk)
    for slot in slots:
        slot.session = session
    slot = slots[0]
    token = device_token(request)
    remembered = devices.device_volunteer(token=token) if token else None
    if request.method == "POST":
        form = BookingForm(request.POST)
        if form.is_valid():
            try:
                asked = bookings_ask(slot_ids=[s.pk for s in slots], client_ip=client_ip(request),
                                     device_token=token if remembered else None, **form.cleaned_data)
            except RateLimited as exc:
                return _rate_limited(request, exc)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if isinstance(asked, PhoneChallenge):
                    return redirect("volunteer:check", token=asked.token)
                messages.success(request, ngettext(
                    "Booked on this device without a code: it remembers your phone.",
                    "All %(count)s booked on this device without a code: it remembers your phone.",
                    len(asked)) % {"count": len(asked)})
                if len(asked) == 1:
                    return redirect("volunteer:manage", token=asked[0].manage_token)
                return redirect("volunteer:my")
    else:
        initial = {"postcode": request.GET.get("postcode", "")[:10]}
        if remembered is not None:  # this device proved the phone: its details, as the form would take them
            initial.update(name=remembered.name, phone=national_phone(remembered.phone), email=remembered.email,
                           postcode=remembered.postcode, consent_sms=remembered.consent_sms,
                           consent_email=remembered.consent_email and remembered.email_opted_out_at is None)
        form = BookingForm(initial=initial)
    alternatives = []
    if len(slots) == 1 and slot.places_left == 0:
        alternatives = slot_alternatives(slot=slot, **_point_of(form))
    response = render(request, "web/volunteer/book.html", {
        "session": session, "slot": slot, "slots": slots, "several": len(slots) > 1, "form": form,
        "alternatives": alternatives, "remembered": remembered,
        "remembered_phone": phone_mask(remembered.phone) if remembered else "",
        "full": [s for s in slots if not s.places_left] if len(slots) > 1 else [],
        "postcode_query": urlencode({"postcode": form["postcode"].value() or ""}),
    })
    if token:  # a remembered device's page carries its volunteer's details: for this browser only
        response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ["Cookie"])
    return response


def _point_of(form) -> dict:
    """The volunteer's point if the postcode they typed is known (for distances to alternatives), else none."""
    raw = form["postcode"].value()
    if not raw:
        return {}
    try:
        location = postcode_locate(raw)
    except InvalidInput:
        return {}
    return {"lat": location.lat, "lng": location.lng}


def _booking_or_404(token: str) -> Booking:
    """The booking behind the link, as it stands: reading it proves nothing (only prove() and the details do)."""
    try:
        return identity.booking_by_link(manage_token=token)
    except NotFound:
        raise _not_found() from None


def _by_machine(request) -> bool:
    return opened_automatically(method=request.method, user_agent=request.headers.get("User-Agent"))


HOLDING = (Booking.Status.CONFIRMED, Booking.Status.WAITLISTED, Booking.Status.PENDING)


@require_safe
def manage(request, token: str):
    """A booking's private page. Opening it proves nothing: an unproven booking shows one button, "this is my
    phone" (prove, a POST), and until then neither the address nor anything of the volunteer's. A link preview,
    scanner or HEAD (opened_automatically) never sees those either, even for a proven booking. Once proven, a
    place the phone also holds at that time (booking_clash) is named, with the choice of which to cancel.
    The page says which state the booking is in (web.volunteer.states) and offers the one action that fits."""
    automatic = _by_machine(request)
    booking = _booking_or_404(token)
    now = timezone.now()
    private = booking.proven_at is not None and not automatic
    room = front_room_disclose(booking=booking, path="page.manage", now=now, automatic=automatic)
    shows_address = room.shown
    slot = booking.slot
    move = booking_redirect_move(booking=booking)
    moved_to = _moved_to(booking)
    state = booking_state(booking=booking, now=now, address_shown=shows_address, address_held=room.held, move=move,
                          ending_kind=booking_ending_kind(booking=booking), moved_to=moved_to)
    told = booking_told(state, approval_needed=booking.approval == Booking.Approval.PENDING, **told_times(booking))
    active = booking.status in HOLDING and slot.ends_at > now
    return render(request, "web/volunteer/manage.html", {
        "booking": booking, "slot": slot, "session": slot.session, "shows_address": shows_address,
        "point": room if shows_address else None, "address_held": room.held, "told": told, "State": State,
        "Action": Action, "can_cancel": active,
        "can_prove": told.action == Action.PROVE and booking.proven_at is None and slot.ends_at > now,
        "proof_shows_address": state == State.REQUESTED and booking.approval in (
            Booking.Approval.NOT_REQUIRED, Booking.Approval.APPROVED),
        "can_decline": redirect_declinable(move), "slot_ended": slot.ends_at <= now,
        "can_swap": private and _swappable(booking),
        "new_place": None if automatic else (moved_to or booking.redirected_to),
        "first_choice": None if automatic or move is None or move.to_booking_id != booking.pk
        else move.from_booking,
        "postcode_query": urlencode({"postcode": booking.volunteer.postcode}) if private else "",
        "Status": Booking.Status, "feed_url": _feed_url(booking) if private else None,
        "private": private, "clash": booking_clash(booking=booking) if private else None,
        "remembered": not automatic and devices.device_volunteer(token=device_token(request)) is not None,
        "can_confirm": not automatic and confirm_asked(booking, now),  # web.volunteer.confirmations
    })


@require_POST
def prove(request, token: str):
    """"This is my phone": the holder of the texted link proves the booking with a deliberate press (a form with
    CSRF, so a scanner that only follows links proves nothing), then back to the page (POST-redirect-GET)."""
    try:
        identity.booking_prove_by_link(manage_token=token)
    except NotFound:
        raise _not_found() from None
    messages.success(request, _("Thank you: your phone is confirmed."))
    return redirect("volunteer:manage", token=token)


def _feed_url(booking: Booking) -> str | None:
    feed = calendar_feed_for(volunteer=booking.volunteer)
    return feed_url(feed) if feed else None


@require_POST
def calendar_feed(request, token: str):
    """Make the volunteer's private calendar feed, or with reset=1 give it a new address (the old one stops)."""
    booking = _booking_or_404(token)
    if request.POST.get("reset"):
        calendar_feed_reset(volunteer=booking.volunteer)
        messages.success(request, _("Your calendar feed has a new address; the old one no longer works."))
    else:
        calendar_feed_ensure(volunteer=booking.volunteer)
        messages.success(request, _("Here is your calendar feed: add it to your calendar app as a subscription."))
    return redirect(reverse("volunteer:manage", args=[token]) + "#calendar-feed")


def _swappable(booking: Booking) -> bool:
    return booking.status in SWAPPABLE_STATUSES and booking.slot.ends_at > timezone.now()


def _moved_to(booking: Booking) -> Booking | None:
    """The booking a swap made from this one (its cancellation event names it), for a link from the old page."""
    if booking.status != Booking.Status.CANCELLED:
        return None
    event = (BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.CANCELLED,
                                         payload__swapped_to__isnull=False).order_by("-id").first())
    if event is None:
        return None
    return Booking.objects.filter(pk=event.payload["swapped_to"], volunteer_id=booking.volunteer_id).first()


@require_http_methods(["GET", "POST"])
@limit_ip("booking_ip")  # a move is a booking: per client address, as the API's; the service counts per phone
def swap(request, token: str):
    """Choose another slot in one step: the other slots of this session and open slots nearby (slot_move_choices,
    which the service checks too); the service takes the new place and gives the old one back in one transaction,
    or changes nothing (the new booking is proven)."""
    booking = _booking_or_404(token)
    if not _swappable(booking):
        messages.error(request, _("This booking can no longer be moved."))
        return redirect("volunteer:manage", token=token)
    session = booking.slot.session
    now = timezone.now()
    same = list(slot_move_choices(slot=booking.slot, now=now).filter(session=session).order_by("starts_at", "id"))
    nearby = [s for s in slot_alternatives(slot=booking.slot, lat=booking.volunteer.lat, lng=booking.volunteer.lng)
              if s.slot.session_id != session.pk]
    form = SwapForm(request.POST or None, slots=same + [s.slot for s in nearby])
    if request.method == "POST" and form.is_valid():
        try:
            new = booking_swap(manage_token=token, slot_id=form.cleaned_data["slot"],
                               waitlist_when_full=form.cleaned_data["waitlist"])
        except RateLimited as exc:
            return _rate_limited(request, exc)
        except NotFound:
            form.add_error("slot", _("That slot is no longer offered. Choose another."))
        except DomainError as exc:
            add_domain_error(form, exc, default_field="slot")
        else:
            if new.status == Booking.Status.WAITLISTED:
                messages.success(request, _("Done: you're on the waitlist of your new slot, and your old place is "
                                            "released. We've texted you this page's link."))
            else:
                messages.success(request, _("Done: this is your new place, and your old one is released. We've "
                                            "texted you this page's link."))
            return redirect("volunteer:manage", token=new.manage_token)
    for slot in same:
        slot.session = session
    return render(request, "web/volunteer/swap.html", {
        "booking": booking, "slot": booking.slot, "session": session, "form": form, "same": same, "nearby": nearby,
        "chosen": str(form["slot"].value() or ""), "holds_place": booking.status == Booking.Status.CONFIRMED,
    })


@require_http_methods(["GET", "POST"])
def cancel(request, token: str):
    """Cancel with a confirmation step: GET asks, POST does (idempotent), then back to the manage page."""
    booking = _booking_or_404(token)
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        if form.is_valid():
            try:
                booking_cancel(manage_token=token)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Your place is cancelled."))
            return redirect("volunteer:manage", token=token)
    return render(request, "web/volunteer/cancel.html", {"booking": booking, "slot": booking.slot,
                                                           "session": booking.slot.session, "form": ConfirmForm()})


@require_POST
def decline(request, token: str):
    """Turn an overflow move down, then show the first choice's page, saying where it stands now: a repeated
    press after a place opened there says so rather than "back on the waitlist"."""
    _booking_or_404(token)
    try:
        first_choice = booking_redirect_decline(manage_token=token)
    except NotFound:
        raise _not_found() from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("volunteer:manage", token=token)
    if first_choice.status == Booking.Status.WAITLISTED:
        messages.success(request, _("Done: you are back on the waitlist of your first choice."))
    elif first_choice.status == Booking.Status.CONFIRMED:
        messages.success(request, _("You turned the move down, and a place has opened on your first choice since: "
                                    "you're booked there."))
    else:
        messages.info(request, _("You turned the move down already. This is your first choice as it stands."))
    return redirect("volunteer:manage", token=first_choice.manage_token)


@require_GET
def calendar_file(request, token: str):
    if _by_machine(request):  # the file carries the address: a machine gets the page without it
        _booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = _booking_or_404(token)  # proves nothing: the address only if proven (booking_shows_address)
    body = booking_calendar(booking, method="PUBLISH")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="frontroom-session.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def email(request, token: str):
    """Give, change or remove the email we write to about this booking (PRG back to the private page). The email
    typed with a booking request waits for the texted code; this is how the holder of the link gives theirs."""
    if request.method == "GET" and _by_machine(request):  # the address on file is for the volunteer
        _booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = _booking_or_404(token)  # a POST proves the booking in booking_details_update
    volunteer = booking.volunteer
    form = EmailForm(request.POST or None, initial={
        "email": volunteer.email, "consent_email": volunteer.consent_email and volunteer.email_opted_out_at is None})
    if request.method == "POST" and form.is_valid():
        try:
            identity.booking_details_update(manage_token=token, email=form.cleaned_data["email"],
                                            consent_email=form.cleaned_data["consent_email"])
        except DomainError as exc:
            add_domain_error(form, exc, default_field="email")
        else:
            messages.success(request, _("Your email is saved.") if form.cleaned_data["email"]
                             else _("Your email is removed: we only text you."))
            return redirect(reverse("volunteer:manage", args=[token]) + "#email")
    return render(request, "web/volunteer/email.html", {"booking": booking, "form": form})


@require_GET
def privacy(request):
    return render(request, "web/volunteer/privacy.html")


@require_http_methods(["GET", "POST"])
def check(request, token: str):
    """'Check your phone': what happens next, and the code from the text (PRG to the booking's private page, or to
    the list of bookings for a request for several slots). The device that typed the right code is remembered for
    the phone (volunteers.devices): its next booking needs no code."""
    return _code_page(request, token, template="web/volunteer/check.html")


def _code_page(request, token: str, *, template: str) -> HttpResponse:
    """A code page (/check/ or /my/check/): the form, then wherever the right code leads (_proven_page)."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            proven = identity.challenge_verify(challenge_token=token, code=form.cleaned_data["code"],
                                               client_ip=client_ip(request))
        except RateLimited as exc:
            return _rate_limited(request, exc)
        except NotFound:
            raise _not_found() from None
        except DomainError as exc:
            add_domain_error(form, exc, default_field="code")
        else:
            return _proven_page(request, proven)
    return render(request, template, {"form": form, "token": token,
                                      "signup": signup_challenge_is(challenge_token=token)})


def _proven_page(request, proven) -> HttpResponse:
    """Where a right code leads, whichever page it was typed on: a booking's page, My bookings, or a sign-up's
    page; the device is remembered for the phone."""
    if isinstance(proven, Booking):
        return _remembered(request, redirect("volunteer:manage", token=proven.manage_token),
                           volunteer_id=proven.volunteer_id)
    if isinstance(proven, identity.PhoneProven):
        if proven.volunteer is None:
            messages.info(request, _("There are no bookings for %(phone)s.") % {"phone": phone_mask(proven.phone)})
            return redirect("volunteer:my")
        return _remembered(request, redirect("volunteer:my"), volunteer_id=proven.volunteer.pk)
    messages.success(request, _("You're signed up."))
    return _remembered(request, redirect("volunteer:signup", token=proven.token), volunteer_id=proven.pk)


def _remembered(request, response, *, volunteer_id: int | None):
    """Remember this device for the phone it has just proven (replacing whatever phone it remembered)."""
    if volunteer_id is not None:
        device_cookie_set(response, request, devices.device_remember(
            volunteer_id=volunteer_id, user_agent=request.headers.get("User-Agent", ""),
            replacing=device_token(request)))
    return response


def _code_resent(request, token: str, *, back_to: str) -> HttpResponse:
    """"Send me a new code" on a code page (a booking's, a sign-up's or My bookings'), then back to that page."""
    try:
        identity.challenge_resend(challenge_token=token, client_ip=client_ip(request))
    except RateLimited as exc:
        return _rate_limited(request, exc)
    except NotFound:
        raise _not_found() from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("We've sent a new code. It replaces the old one."))
    return redirect(back_to, token=token)


@require_POST
def resend(request, token: str):
    return _code_resent(request, token, back_to="volunteer:check")


@require_http_methods(["GET", "POST"])
def my_data(request, token: str):
    """See (and download) what is stored about the volunteer behind a proven link, or delete it."""
    if request.method == "GET" and _by_machine(request):  # what is stored is for the volunteer, not a preview
        _booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = _booking_or_404(token)
    delete_form = ConfirmForm(request.POST or None)
    if request.method == "POST" and identity.can_delete_data and delete_form.is_valid():
        identity.volunteer_data_delete(manage_token=token)
        messages.success(request, _("Your details are deleted and your places released."))
        return redirect("volunteer:home")
    return render(request, "web/volunteer/my_data.html", {
        "booking": booking, "volunteer": booking.volunteer, "delete_form": delete_form,
        "can_delete": identity.can_delete_data, "export_url": identity.data_export_url(token),
    })


def _my_context(request, volunteer) -> dict:
    now = timezone.now()
    listed = phone_bookings(volunteer_id=volunteer.pk, now=now)
    known = front_rooms_known_to(volunteer_id=volunteer.pk)
    rows = []
    for booking in listed.upcoming:
        room = front_room_disclose(booking=booking, path="page.my", now=now, known_rooms=known)
        rows.append({"booking": booking, "room": room, "can_cancel": booking.status in HOLDING,
                     "calendar": booking.status != Booking.Status.CANCELLED and booking.proven_at is not None})
    return {"volunteer": volunteer, "upcoming": rows, "past": listed.past, "phone": phone_mask(volunteer.phone),
            "Status": Booking.Status}


@require_http_methods(["GET", "POST"])
def my(request):
    """'My bookings': on a device remembered for a phone, every booking of that phone with its actions; otherwise
    a phone number, then a texted code (my_check). The answer to "send me a code" is the same for every number
    (volunteers.identity.my_bookings_request)."""
    token = device_token(request)
    volunteer = devices.device_volunteer(token=token) if token else None
    if volunteer is not None and request.method == "GET":
        return render(request, "web/volunteer/my.html", _my_context(request, volunteer))
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = identity.my_bookings_request(phone=form.cleaned_data["phone"], client_ip=client_ip(request))
        except RateLimited as exc:
            return _rate_limited(request, exc)
        except DomainError as exc:
            add_domain_error(form, exc, default_field="phone")
        else:
            return redirect("volunteer:my_check", token=challenge.token)
    return render(request, "web/volunteer/my_phone.html", {"form": form})


@require_http_methods(["GET", "POST"])
def my_check(request, token: str):
    """The code texted for "my bookings": the right one remembers this device for the phone and shows its list."""
    return _code_page(request, token, template="web/volunteer/my_check.html")


@require_POST
def my_resend(request, token: str):
    return _code_resent(request, token, back_to="volunteer:my_check")


@require_POST
def forget_device(request):
    """"Forget this device" (a POST with CSRF): its token stops working at once, here and wherever it was copied."""
    devices.device_forget(token=device_token(request))
    messages.success(request, _("This device no longer remembers your phone. Next time we text you a code."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("volunteer:my")
    response = redirect(next_url)
    device_cookie_delete(response)
    return response
