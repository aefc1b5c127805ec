"""Hosts' pages: their account, their front rooms, their sessions and who is coming.

Each view binds a form, calls one service or selector and renders. A domain error from a service is shown on the
form next to the field it names; a session or room that is not the host's own is a 404, never a 403, so that ids
of other hosts' sessions are not confirmed.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.db import pk_in_range
from core.errors import DomainError, NotFound
from core.exports import export_response
from core.ratelimit import client_ip, limit_ip
from notify.host_notifications import host_notifications_get, host_notifications_set
from notify.sms.services import host_mobile_code_resend, host_mobile_verify
from sessions import services as session_services
from sessions.hosts import host_email_verification_resend, host_email_verified, host_email_verify, host_signup
from sessions.models import CanvassSession, MeetingPoint
from sessions.recurrence import series_details_update, session_repeat
from sessions.selectors import session_managed
from sessions.vetting import sessions_in_review
from volunteers import exports, feeds
from volunteers.disclosure import (
    front_room_held_bookings,
    front_room_phones_shown,
    front_room_release_for_booking,
)
from volunteers.identity import phone_mask
from volunteers.models import Booking
from volunteers.selectors import (
    PLACE_STATUSES,
    BookingCounts,
    Places,
    booking_counts_by_slot,
    places_by_slot,
    places_total,
    roster_person,
    session_roster,
)
from volunteers.services import booking_approve, booking_attendance_record, booking_refuse
from web.hosts import forms
from web.hosts.forms import form_errors_from

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SLOTS_PREFIX = "slots"
COMING = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)
# Bookings a host can still answer: a place held, or a waitlist place, waiting for their approval.
ANSWERABLE = (Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)


def _approval_enabled() -> bool:
    return True  # every session may ask its host to approve each volunteer (CanvassSession.requires_approval)


def _posted(request):
    # Not `request.POST or None`: an empty POST (an unticked confirmation box) must still be a bound form.
    return request.POST if request.method == "POST" else None


# ---- account ------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@limit_ip("host_signup_ip")
def signup(request):
    if request.user.is_authenticated:
        return redirect("hosts:home")
    form = forms.HostSignupForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = host_signup(email=data["email"], password=data["password1"], first_name=data["first_name"])
        except DomainError as error:
            form_errors_from(error, form, field_map={"password": "password1"})
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, _("Welcome, %(name)s. We have emailed you a link to confirm your address. "
                                        "Meanwhile, open your front room.") % {"name": user.first_name})
            return redirect("hosts:room_new")
    return render(request, "web/hosts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def email_verify(request, token: str):
    """The link emailed to a new host. GET asks (a mail scanner opening links proves nothing); the button POSTs."""
    if request.method == "POST":
        try:
            host = host_email_verify(token=token)
        except DomainError as error:
            return render(request, "web/hosts/email_verify.html", {"problem": error.message}, status=400)
        messages.success(request, _("Thank you: your email address %(email)s is confirmed.") % {"email": host.email})
        return redirect("hosts:home" if request.user.is_authenticated else "hosts:login")
    return render(request, "web/hosts/email_verify.html", {"token": token})


@login_required
@require_POST
def email_verify_resend(request):
    try:
        host_email_verification_resend(host=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("We have emailed a new link to %(email)s.") % {"email": request.user.email})
    return redirect("hosts:home")


class LoginView(auth_views.LoginView):
    form_class = forms.HostLoginForm
    template_name = "web/hosts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "/"


@method_decorator(limit_ip("password_reset_ip"), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.HostPasswordResetForm
    template_name = "web/hosts/password_reset_form.html"
    email_template_name = "web/hosts/password_reset_email.txt"
    subject_template_name = "web/hosts/password_reset_subject.txt"
    success_url = reverse_lazy("hosts:password_reset_done")

    def form_valid(self, form):
        # The link is built from the configured public address, never from the request's Host header.
        self.extra_email_context = {"base_url": settings.PUBLIC_BASE_URL.rstrip("/"), "site_name": settings.SITE_NAME}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/hosts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.HostSetPasswordForm
    template_name = "web/hosts/password_reset_confirm.html"
    success_url = reverse_lazy("hosts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/hosts/password_reset_complete.html"


# ---- my sessions --------------------------------------------------------------------------------------------

@login_required
def home(request):
    now = timezone.now()
    mine = (CanvassSession.objects.filter(meeting_point__host=request.user)
            .select_related("meeting_point", "seat").prefetch_related("slots"))
    upcoming = mine.filter(ends_at__gt=now, status__in=(
        CanvassSession.Status.PUBLISHED, CanvassSession.Status.REVIEW, CanvassSession.Status.REFUSED,
    )).order_by("starts_at")
    recent = mine.filter(ends_at__lte=now, ends_at__gt=now - timedelta(days=30)).order_by("-starts_at")
    rooms = MeetingPoint.objects.filter(host=request.user).order_by("name")
    upcoming = list(upcoming)
    slot_ids = [slot.pk for session in upcoming for slot in session.slots.all()]
    places, counts = places_by_slot(slot_ids=slot_ids), booking_counts_by_slot(slot_ids=slot_ids)
    return render(request, "web/hosts/home.html", {
        "upcoming": [_with_places(session, places, counts) for session in upcoming],
        "recent": list(recent), "rooms": rooms, "feed_url": _feed_url(request.user),
        "email_unverified": not host_email_verified(host=request.user),
        "reviews_waiting": sessions_in_review(user=request.user).count(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    """Each booking and cancellation on the host's sessions by email, by text, both or neither; a daily digest.
    A new mobile is texted a code, asked for on this page (notifications_code) before any text goes to it."""
    current = host_notifications_get(host=request.user)
    initial = {"each": current.each, "digest": current.digest, "digest_text": current.digest_text,
               "email": current.email, "mobile": current.mobile}
    form = forms.NotificationsForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = host_notifications_set(host=request.user, client_ip=client_ip(request), **form.cleaned_data)
        except DomainError as exc:
            form_errors_from(exc, form)
        else:
            if saved.code_sent and not (current.code_sent and current.mobile == saved.mobile):
                messages.success(request, _("Saved. We have texted a code to %(mobile)s: type it below, and texts "
                                            "start.") % {"mobile": phone_mask(saved.mobile)})
            else:
                messages.success(request, _("Saved: how you hear of bookings."))
            return redirect("hosts:notifications")
    return _notifications_page(request, current, form=form)


def _notifications_page(request, current, *, form=None, code_form=None):
    if form is None:
        form = forms.NotificationsForm(initial={"each": current.each, "digest": current.digest,
                                                "digest_text": current.digest_text, "email": current.email,
                                                "mobile": current.mobile})
    texts = current.each in ("text", "both") or current.digest_text
    return render(request, "web/hosts/notifications.html", {
        "form": form, "texts_stopped": current.texts_stopped, "current": current,
        "mobile_masked": phone_mask(current.mobile) if current.mobile else "",
        "ask_code": texts and bool(current.mobile) and not current.mobile_proven,
        "code_form": code_form or forms.MobileCodeForm(),
    })


@login_required
@require_POST
def notifications_code(request):
    """The code texted to the host's mobile: right, the mobile is proven and texts flow; wrong, the page again
    with the reason (and the tries left) by the field."""
    form = forms.MobileCodeForm(request.POST)
    if form.is_valid():
        try:
            host_mobile_verify(host=request.user, code=form.cleaned_data["code"], client_ip=client_ip(request))
        except DomainError as exc:
            # A wrong code's own field message says how many tries are left.
            detail = (exc.fields or {}).get("code") if exc.code == "code_wrong" else None
            form.add_error("code", f"{exc.message} {detail[0]}" if detail else exc.message)
        else:
            messages.success(request, _("Your mobile is proven: we will text it about bookings."))
            return redirect("hosts:notifications")
    return _notifications_page(request, host_notifications_get(host=request.user), code_form=form)


@login_required
@require_POST
def notifications_code_new(request):
    """Text the host's saved, unproven mobile a new code (the old one stops working)."""
    try:
        proof = host_mobile_code_resend(host=request.user, client_ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("We have texted a new code to %(mobile)s.") % {"mobile": phone_mask(proof.phone)})
    return redirect("hosts:notifications")


def _feed_url(user) -> str | None:
    feed = feeds.calendar_feed_for(host=user)
    return feeds.feed_url(feed) if feed else None


@login_required
@require_POST
def calendar_feed(request):
    """Make the host's private calendar feed, or with reset=1 give it a new address (the old one stops)."""
    if request.POST.get("reset"):
        feeds.calendar_feed_reset(host=request.user)
        messages.success(request, _("Your calendar feed has a new address; the old one no longer works."))
    else:
        feeds.calendar_feed_ensure(host=request.user)
        messages.success(request, _("Here is your calendar feed: add it to your calendar app as a subscription."))
    return redirect(reverse("hosts:home") + "#calendar-feed")


def slots_when(slots) -> list[dict]:
    """The slots' days and times for a heading, in local time: [{"day": date, "times": ["10:00–11:30", …]}]."""
    days: dict = {}
    for slot in slots:
        start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        days.setdefault(start.date(), []).append(f"{start:%H:%M}–{end:%H:%M}")
    return [{"day": day, "times": times} for day, times in days.items()]


def _with_places(session, places: dict | None = None, counts: dict | None = None):
    slots = list(session.slots.all())
    session.when = slots_when(slots)
    session.counts = sum(((counts or {}).get(slot.pk, BookingCounts()) for slot in slots), BookingCounts())
    session.places = places_total((places or {}).get(slot.pk, Places()) for slot in slots)
    session.places_left = sum(slot.places_left for slot in slots)
    session.capacity_total = sum(slot.capacity for slot in slots)
    session.slot_list = slots
    return session


# ---- front rooms --------------------------------------------------------------------------------------------

def _own_room(request, room_id: int) -> MeetingPoint:
    room = MeetingPoint.objects.filter(pk=room_id).first()
    if room is None or not session_services.meeting_point_managed_by(user=request.user, meeting_point=room):
        raise Http404
    return room


@login_required
@require_http_methods(["GET", "POST"])
def room_new(request):
    initial = {"host_first_name": request.user.first_name, "capacity": 10}
    form = forms.MeetingPointForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            room = session_services.meeting_point_create(host=request.user, **form.cleaned_data)
        except DomainError as error:
            form_errors_from(error, form)
        else:
            messages.success(request, _("%(name)s is open. Now post a session there.") % {"name": room.name})
            return redirect(reverse("hosts:session_new") + f"?room={room.pk}")
    return render(request, "web/hosts/room_form.html", {"form": form, "room": None})


@login_required
@require_http_methods(["GET", "POST"])
def room_edit(request, room_id: int):
    room = _own_room(request, room_id)
    initial = {name: getattr(room, name) for name in forms.MeetingPointEditForm.base_fields}
    form = forms.MeetingPointEditForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            session_services.meeting_point_update(user=request.user, meeting_point=room, **form.cleaned_data)
        except DomainError as error:
            form_errors_from(error, form)
        else:
            messages.success(request, _("Saved. If you changed the address, booked volunteers are being texted it."))
            return redirect("hosts:home")
    return render(request, "web/hosts/room_form.html", {
        "form": form, "room": room, "phones_shown": front_room_phones_shown(meeting_point_id=room.pk)})


# ---- sessions -----------------------------------------------------------------------------------------------

def _managed(request, session_id: int) -> CanvassSession:
    try:
        return session_managed(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None


def _row_index(request, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


def _rows_changed(request, formset_class, **kwargs):
    """The formset re-rendered for an "Add another slot", "Remove" or "Keep" button (no JavaScript needed), or
    None when the form was submitted to be saved."""
    if "add_row" in request.POST:
        formset = forms.add_row(formset_class, request.POST, prefix=SLOTS_PREFIX, **kwargs)
        return formset, _("Another empty slot has been added.")
    index = _row_index(request, "remove_row")
    if index is not None:
        formset = forms.remove_row(formset_class, request.POST, prefix=SLOTS_PREFIX, index=index, **kwargs)
        if index < formset.initial_form_count():
            return formset, _("Slot %(n)s will be removed when you save.") % {"n": index + 1}
        return formset, _("Slot %(n)s has been taken out.") % {"n": index + 1}
    index = _row_index(request, "keep_row")
    if index is not None:
        formset = forms.keep_row(formset_class, request.POST, prefix=SLOTS_PREFIX, index=index, **kwargs)
        return formset, _("Slot %(n)s stays.") % {"n": index + 1}
    return None


def _rows_check(rows, day, room, now) -> None:
    """What the service would refuse of each row, said on each row at once (the service says only the first)."""
    for row in rows:
        if any(row.fields[name].disabled for name in ("starts", "ends")):
            continue
        slot = row.slot(day)
        if slot["starts_at"] <= now:
            row.add_error("starts", _("This time has passed: choose a later time or day."))
        if room is not None and slot["capacity"] > room.capacity:
            row.add_error("capacity", _("At most %(n)s: the room holds %(n)s.") % {"n": room.capacity})


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request):
    rooms = list(MeetingPoint.objects.filter(host=request.user, is_active=True).order_by("name"))
    if not rooms:
        messages.info(request, _("First open your front room: where volunteers meet."))
        return redirect("hosts:room_new")
    with_approval = _approval_enabled()
    chosen = request.GET.get("room")
    form = forms.SessionForm(_posted(request), meeting_points=rooms, with_approval=with_approval,
                             initial={"meeting_point": int(chosen) if chosen and chosen.isdigit() else rooms[0].pk})
    changed = _rows_changed(request, forms.SlotFormSet) if request.method == "POST" else None
    if changed is not None:
        formset, said = changed
        return render(request, "web/hosts/session_form.html", {"form": forms.quiet(form), "formset": formset,
                                                                "rows_said": said})
    formset = forms.SlotFormSet(_posted(request), prefix=SLOTS_PREFIX)
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):  # both checked: every error at once
        filled = formset.filled_forms()
        room = next(room for room in rooms if room.pk == form.cleaned_data["meeting_point"])
        day = form.cleaned_data["date"]
        _rows_check(filled, day, room, timezone.now())
        if not formset.total_error_count():
            extra = {"requires_approval": form.cleaned_data["requires_approval"]} if with_approval else {}
            extra["confirm_required"] = form.cleaned_data["confirm_required"]
            try:
                session = session_services.session_create(
                    user=request.user, meeting_point=room, title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"], what_to_bring=form.cleaned_data["what_to_bring"],
                    slots=[row.slot(day) for row in filled], **extra,
                )
            except DomainError as error:
                form_errors_from(error, form, slot_forms=filled)
            else:
                if session.status == CanvassSession.Status.REVIEW:
                    messages.success(request, _("Thank you. An organiser checks a new host's first session before "
                                                "it is published; we will publish it as soon as they have."))
                else:
                    messages.success(request, _("Your session is published. Share its page with volunteers."))
                return redirect("hosts:session_detail", session_id=session.pk)
    return render(request, "web/hosts/session_form.html", {"form": form, "formset": formset})


@login_required
def session_detail(request, session_id: int):
    session = _managed(request, session_id)
    bookings = list(session_roster(user=request.user, session_id=session.pk))
    for booking in bookings:
        booking.person = roster_person(booking)
    now = timezone.now()
    slots = []
    waiting = [booking for booking in bookings
               if booking.approval == Booking.Approval.PENDING and booking.status in ANSWERABLE]
    for slot in session.slots.all():
        mine = [booking for booking in bookings if booking.slot_id == slot.pk]
        held = [booking for booking in mine if booking.status in PLACE_STATUSES]
        slots.append({
            "slot": slot, "started": slot.starts_at <= now,
            "places": Places(proven=sum(b.proven_at is not None for b in held),
                             unproven=sum(b.proven_at is None for b in held)),
            "coming": [b for b in mine if b.status in COMING],
            "pending": [b for b in mine if b.status == Booking.Status.PENDING],
            "waitlist": [b for b in mine if b.status == Booking.Status.WAITLISTED],
            "gone": [b for b in mine if b.status not in COMING + (Booking.Status.WAITLISTED, Booking.Status.PENDING)],
        })
    return render(request, "web/hosts/session_detail.html", {
        "session": session, "slots": slots, "when": slots_when(entry["slot"] for entry in slots), "cancelled": session.status == CanvassSession.Status.CANCELLED,
        "in_review": session.status == CanvassSession.Status.REVIEW,
        "refused": session.status == CanvassSession.Status.REFUSED,
        "needs_approval": session.requires_approval, "waiting": waiting, "shows_proof": True,
        "address_held": front_room_held_bookings(booking_ids=[booking.pk for booking in bookings]),
    })


@login_required
@require_POST
def booking_address_release(request, session_id: int, booking_id: int):
    """The host lets a volunteer whose phone reached its allowance of front rooms see this room's address."""
    session = _managed(request, session_id)
    try:
        front_room_release_for_booking(booking_id=booking_id, user=request.user,
                                       meeting_point_ids=[session.meeting_point_id])
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done: they can now see your address."))
    return redirect("hosts:session_detail", session_id=session.pk)


@login_required
def roster_csv(request, session_id: int):
    """The session's roster as a CSV file (volunteers.exports): only the host's own, else the same 404."""
    try:
        rows = exports.roster_export_rows(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None
    return export_response(exports.ROSTER, rows, session=session_id)


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request, session_id: int):
    session = _managed(request, session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        messages.error(request, _("This session has been cancelled and can no longer be changed."))
        return redirect("hosts:session_detail", session_id=session.pk)
    with_approval = _approval_enabled()
    slots = list(session.slots.all())
    now = timezone.now()
    day = timezone.localtime(min((slot.starts_at for slot in slots), default=session.starts_at)).date()
    started = any(slot.starts_at <= now for slot in slots)
    initial = {"title": session.title, "date": day, "description": session.description,
               "what_to_bring": session.what_to_bring}
    if with_approval:
        initial["requires_approval"] = session.requires_approval
    initial["confirm_required"] = session.confirm_required
    form = forms.SessionEditForm(_posted(request), initial=initial, with_approval=with_approval,
                                 in_series=session.series is not None)
    if started:  # a started slot keeps its times, so the day they are on stays too
        form.fields["date"].disabled = True
    rows_kwargs = {"initial": [forms.slot_initial(slot, day) for slot in slots]}
    changed = _rows_changed(request, forms.SlotEditFormSet, **rows_kwargs) if request.method == "POST" else None
    said = None
    if changed is not None:
        formset, said = changed
        form = forms.quiet(form)
    else:
        formset = forms.SlotEditFormSet(_posted(request), prefix=SLOTS_PREFIX, **rows_kwargs)
    booked = booking_counts_by_slot(slot_ids=[slot.pk for slot in slots])
    by_id = {slot.pk: slot for slot in slots}
    for index, row in enumerate(formset.forms):
        slot = slots[index] if index < len(slots) else None
        row.slot_obj = slot
        row.booked = booked.get(slot.pk, BookingCounts()).active if slot else 0
        row.removing = bool(slot and row.is_bound and row.data.get(row.add_prefix("DELETE")))
        if slot is not None and slot.starts_at <= now:  # a started slot keeps its times and stays
            row.started = True
            for name in ("starts", "ends"):
                row.fields[name].disabled = True
    if changed is None and request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        new_day = form.cleaned_data["date"]
        removed = formset.removed_forms()
        for row in removed:
            if row.booked and not row.cleaned_data.get("confirm_remove"):
                row.add_error("confirm_remove", ngettext(
                    "%(n)s volunteer is booked on this slot: tick to remove it, and they are texted that it is "
                    "cancelled.", "%(n)s volunteers are booked on this slot: tick to remove it, and they are "
                    "texted that it is cancelled.", row.booked) % {"n": row.booked})
        kept = [row for row in formset.forms if row not in removed and getattr(row, "cleaned_data", None)
                and (row.cleaned_data.get("slot_id") or row.has_changed())]
        _rows_check([row for row in kept if _row_moves(row, new_day)], new_day, session.meeting_point, now)
        if not formset.total_error_count():
            try:
                told = _session_edit_save(request.user, session, form.cleaned_data, new_day, kept, removed, by_id)
            except _RowError as failed:
                form_errors_from(failed.error, failed.row)
            except DomainError as error:
                form_errors_from(error, form, slot_forms=[row for row in kept if not row.cleaned_data.get("slot_id")])
            else:
                messages.success(request, _("Saved. Volunteers on a slot whose time changed are being texted.")
                                 if not told else ngettext(
                                     "Saved. We are telling the volunteer booked on the removed slot that it is "
                                     "cancelled.",
                                     "Saved. We are telling the %(n)s volunteers booked on removed slots that they "
                                     "are cancelled.",
                                     told) % {"n": told})
                return redirect("hosts:session_detail", session_id=session.pk)
    return render(request, "web/hosts/session_edit.html", {"session": session, "form": form, "formset": formset,
                                                           "rows_said": said})


def _row_moves(row, day) -> bool:
    slot = getattr(row, "slot_obj", None)
    if slot is None:
        return True
    new = row.slot(day)
    return (new["starts_at"], new["ends_at"]) != (slot.starts_at, slot.ends_at)


class _RowError(Exception):
    def __init__(self, error: DomainError, row):
        super().__init__(error.message)
        self.error, self.row = error, row


@transaction.atomic
def _session_edit_save(user, session, details: dict, day, kept, removed, by_id) -> int:
    """All of one edit or none of it: a refused change rolls back everything saved before it. Removed slots go
    first (their volunteers told), then changed ones, then the new ones. Returns how many volunteers were booked on
    the removed slots."""
    told = 0
    for row in removed:
        slot = by_id.get(row.cleaned_data["slot_id"])
        if slot is None:
            continue  # a slot of another session: ignored, never written
        try:
            session_services.slot_remove(user=user, slot_id=slot.pk)
        except DomainError as error:
            raise _RowError(error, row) from error
        told += row.booked
    new_rows = []
    for row in kept:
        slot_id = row.cleaned_data.get("slot_id")
        if not slot_id:
            new_rows.append(row)
            continue
        slot = by_id.get(slot_id)
        if slot is None:
            continue
        new = row.slot(day)
        try:
            if slot.starts_at > timezone.now() and (new["starts_at"], new["ends_at"]) != (slot.starts_at, slot.ends_at):
                session_services.slot_reschedule(user=user, slot_id=slot.pk, starts_at=new["starts_at"],
                                                 ends_at=new["ends_at"])
            if (new["capacity"], new["turf"]) != (slot.capacity, slot.turf):
                session_services.slot_update(user=user, slot_id=slot.pk, capacity=new["capacity"], turf=new["turf"])
        except DomainError as error:
            raise _RowError(error, row) from error
    extra = {"requires_approval": details["requires_approval"]} if "requires_approval" in details else {}
    session_services.session_update(user=user, session_id=session.pk, title=details["title"],
                                    description=details["description"], what_to_bring=details["what_to_bring"],
                                    new_slots=[row.slot(day) for row in new_rows],
                                    confirm_required=details["confirm_required"], **extra)
    if details.get("apply_to") == "later":  # sessions.recurrence: the details, never the slots
        series_details_update(user=user, session_id=session.pk, title=details["title"],
                              description=details["description"], what_to_bring=details["what_to_bring"],
                              confirm_required=details["confirm_required"], **extra)
    return told


@login_required
@require_http_methods(["GET", "POST"])
def session_copy(request, session_id: int):
    session = _managed(request, session_id)
    first_day = timezone.localtime(session.starts_at).date()
    form = forms.CopySessionForm(_posted(request), first_day=first_day, limit=session_services.COPIES_MAX)
    if request.method == "POST" and form.is_valid():
        dates = list(form.chosen)
        try:
            copies = session_repeat(user=request.user, session_id=session.pk, dates=dates)  # linked: a series
        except DomainError as error:
            fields = list((error.fields or {}).keys())
            index = int(fields[0].split(".")[1]) if fields and fields[0].startswith("dates.") else None
            name = form.chosen[dates[index]] if index is not None else "weekly_until"
            form.add_error(name, _("%(day)s: %(problem)s") % {
                "day": formats.date_format(dates[index], "D j M"), "problem": error.message}
                if index is not None else error.message)
        else:
            if len(copies) == 1:
                messages.success(request, _("Copied. This is the new session; nobody is booked on it yet."))
                return redirect("hosts:session_detail", session_id=copies[0].pk)
            messages.success(request, ngettext("Copied to %(n)s date.", "Copied to %(n)s dates: each is its own "
                                               "session, and nobody is booked on them yet.", len(copies))
                             % {"n": len(copies)})
            return redirect("hosts:home")
    return render(request, "web/hosts/session_copy.html", {"session": session, "form": form,
                                                           "limit": session_services.COPIES_MAX})


@login_required
@require_http_methods(["GET", "POST"])
def session_cancel(request, session_id: int):
    session = _managed(request, session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        messages.info(request, _("This session is already cancelled."))
        return redirect("hosts:session_detail", session_id=session.pk)
    booked = Booking.objects.filter(slot__session=session, status__in=(
        Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)).count()
    form = forms.CancelSessionForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        session_services.session_cancel(user=request.user, session_id=session.pk)
        messages.success(request, _("The session is cancelled. Everyone who had booked is being texted."))
        return redirect("hosts:home")
    return render(request, "web/hosts/session_cancel.html", {"session": session, "form": form, "booked": booked})


@login_required
@require_POST
def attendance(request, session_id: int):
    session = _managed(request, session_id)
    form = forms.AttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the volunteer came."))
        return redirect("hosts:session_detail", session_id=session.pk)
    try:
        booking = booking_attendance_record(user=request.user, session_id=session.pk,
                                            booking_id=form.cleaned_data["booking"],
                                            attended=form.cleaned_data["attended"])
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("hosts:session_detail", session_id=session.pk)
    messages.success(request, _("Recorded: %(name)s %(what)s.") % {
        "name": roster_person(booking).name or _("A volunteer"),
        "what": _("came") if booking.status == Booking.Status.ATTENDED else _("did not come")})
    return redirect(reverse("hosts:session_detail", kwargs={"session_id": session.pk}) + f"#booking-{booking.pk}")


# ---- approvals ----------------------------------------------------------------------------------------------
# The services decide who may answer (the session's host or a coordinator: meeting_point_managed_by) and
# refuse a booking that no longer waits; anything else about the booking is a 404, as for the session.

def _answer_or_404(request, session_id: int, booking_id: int, service):
    try:
        return service(user=request.user, session_id=session_id, booking_id=booking_id)
    except NotFound:
        raise Http404 from None


def _roster_at(session_id: int, booking: Booking | None = None):
    url = reverse("hosts:session_detail", kwargs={"session_id": session_id})
    return redirect(url + (f"#booking-{booking.pk}" if booking is not None else "#waiting"))


@login_required
@require_POST
def booking_approve_view(request, session_id: int, booking_id: int):
    session = _managed(request, session_id)
    try:
        booking = _answer_or_404(request, session.pk, booking_id, booking_approve)
    except DomainError as error:
        messages.error(request, error.message)
        return _roster_at(session.pk)
    person = roster_person(booking)
    if person.proven:
        messages.success(request, _("Approved: %(name)s is being texted the address.") % {"name": person.name})
    else:  # texts caused by a host go only to proven phones (notify.sms)
        messages.success(request, _("Approved: %(name)s sees the address once they prove their phone.")
                         % {"name": person.name or _("A volunteer")})
    return _roster_at(session.pk, booking)


@login_required
@require_http_methods(["GET", "POST"])
def booking_refuse_view(request, session_id: int, booking_id: int):
    """Refuse with a confirmation step: GET asks, POST (with the box ticked) refuses and texts the volunteer."""
    session = _managed(request, session_id)
    booking = (Booking.objects.select_related("volunteer", "slot")
               .filter(pk=booking_id, slot__session=session, approval=Booking.Approval.PENDING,
                       status__in=ANSWERABLE).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None:
        messages.info(request, _("That volunteer is no longer waiting for your answer."))
        return _roster_at(session.pk)
    booking.person = roster_person(booking)
    form = forms.RefuseBookingForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            _answer_or_404(request, session.pk, booking.pk, booking_refuse)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Refused: %(name)s is being texted that you can't take them.")
                             % {"name": booking.person.name} if booking.person.proven else
                             _("Refused: %(name)s's place is given back.") % {"name": booking.person.name
                                                                               or _("A volunteer")})
        return _roster_at(session.pk)
    return render(request, "web/hosts/booking_refuse.html", {"session": session, "booking": booking, "form": form})
