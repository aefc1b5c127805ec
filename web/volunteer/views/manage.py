"""A booking's own page by its private link: proving the phone, its calendar, the email it goes to."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from core.errors import DomainError, NotFound
from dispatch.services.overflow import booking_redirect_move, redirect_declinable
from volunteers.calendar import booking_calendar
from volunteers.disclosure import front_room_disclose
from volunteers.feeds import calendar_feed_ensure, calendar_feed_reset, feed_url
from volunteers.manage_read import booking_page_read
from volunteers.models import Booking
from volunteers.selectors import booking_clash, booking_ending_kind
from web.volunteer import identity
from web.volunteer.confirmations import told_times
from web.volunteer.devices import device_token
from web.volunteer.forms import EmailForm, add_domain_error
from web.volunteer.states import Action, State, booking_state, booking_told, confirm_asked
from web.volunteer.views.changes import booking_moved_to, swappable
from web.volunteer.views.common import booking_or_404, by_machine, not_found

HOLDING = (Booking.Status.CONFIRMED, Booking.Status.WAITLISTED, Booking.Status.PENDING)


@require_safe
def manage(request, token: str):
    """A booking's private page. Opening it proves nothing: an unproven booking shows one button, "this is my
    phone" (prove, a POST), and until then neither the address nor anything of the volunteer's. A link preview,
    scanner or HEAD (opened_automatically) never sees those either, even for a proven booking. Once proven, a
    place the phone also holds at that time (booking_clash) is named, with the choice of which to cancel.
    The page says which state the booking is in (web.volunteer.states) and offers the one action that fits."""
    automatic = by_machine(request)
    try:  # one indexed read for the texted-link surge (volunteers.manage_read); no write unless first shown
        page = booking_page_read(manage_token=token, device_token=None if automatic else device_token(request))
    except NotFound:
        raise not_found() from None
    booking = page.booking
    now = timezone.now()
    private = booking.proven_at is not None and not automatic
    room = front_room_disclose(booking=booking, path="page.manage", now=now, automatic=automatic,
                               known_rooms=frozenset({booking.slot.session.meeting_point_id}) if page.room_known
                               else None)
    shows_address = room.shown
    slot = booking.slot
    move = booking_redirect_move(booking=booking)
    moved_to = booking_moved_to(booking)
    state = booking_state(booking=booking, now=now, address_shown=shows_address, address_held=room.held, move=move,
                          ending_kind=booking_ending_kind(booking=booking), moved_to=moved_to)
    told = booking_told(state, approval_needed=booking.approval == Booking.Approval.PENDING, **told_times(booking))
    active = booking.status in HOLDING and slot.ends_at > now
    return render(request, "web/volunteer/manage.html", {
        "booking": booking, "slot": slot, "session": slot.session, "shows_address": shows_address,
        "point": room if shows_address else None, "address_held": room.held, "told": told, "State": State,
        "Action": Action, "can_cancel": active, "party_choices": range(booking.party_size - 1, 0, -1),
        "can_prove": told.action == Action.PROVE and booking.proven_at is None and slot.ends_at > now,
        "proof_shows_address": state == State.REQUESTED and booking.approval in (
            Booking.Approval.NOT_REQUIRED, Booking.Approval.APPROVED),
        "can_decline": redirect_declinable(move), "slot_ended": slot.ends_at <= now,
        "can_swap": private and swappable(booking),
        "new_place": None if automatic else (moved_to or booking.redirected_to),
        "first_choice": None if automatic or move is None or move.to_booking_id != booking.pk
        else move.from_booking,
        "postcode_query": urlencode({"postcode": booking.volunteer.postcode}) if private else "",
        "Status": Booking.Status, "feed_url": feed_url(page.feed) if private and page.feed else None,
        "private": private, "clash": booking_clash(booking=booking) if private and page.clash_id else None,
        "remembered": page.device_remembered, "lifts_enabled": settings.LIFTS_ENABLED,
        "can_confirm": not automatic and confirm_asked(booking, now),  # web.volunteer.confirmations
    })


@require_POST
def prove(request, token: str):
    """"This is my phone": the holder of the texted link proves the booking with a deliberate press (a form with
    CSRF, so a scanner that only follows links proves nothing), then back to the page (POST-redirect-GET)."""
    try:
        identity.booking_prove_by_link(manage_token=token)
    except NotFound:
        raise not_found() from None
    messages.success(request, _("Thank you: your phone is confirmed."))
    return redirect("volunteer:manage", token=token)


@require_POST
def calendar_feed(request, token: str):
    """Make the volunteer's private calendar feed, or with reset=1 give it a new address (the old one stops)."""
    booking = booking_or_404(token)
    if request.POST.get("reset"):
        calendar_feed_reset(volunteer=booking.volunteer)
        messages.success(request, _("Your calendar feed has a new address; the old one no longer works."))
    else:
        calendar_feed_ensure(volunteer=booking.volunteer)
        messages.success(request, _("Here is your calendar feed: add it to your calendar app as a subscription."))
    return redirect(reverse("volunteer:manage", args=[token]) + "#calendar-feed")


@require_GET
def calendar_file(request, token: str):
    if by_machine(request):  # the file carries the address: a machine gets the page without it
        booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = booking_or_404(token)  # proves nothing: the address only if proven (booking_shows_address)
    body = booking_calendar(booking, method="PUBLISH")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="frontroom-session.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def email(request, token: str):
    """Give, change or remove the email we write to about this booking (PRG back to the private page). The email
    typed with a booking request waits for the texted code; this is how the holder of the link gives theirs."""
    if request.method == "GET" and by_machine(request):  # the address on file is for the volunteer
        booking_or_404(token)
        return redirect("volunteer:manage", token=token)
    booking = booking_or_404(token)  # a POST proves the booking in booking_details_update
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
