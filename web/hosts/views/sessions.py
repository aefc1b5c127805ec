"""A host's sessions: posting one with its slots, its page, changing, copying and cancelling it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from sessions import services as session_services
from sessions.models import CanvassSession, MeetingPoint
from volunteers.disclosure import front_room_held_bookings
from volunteers.models import Booking
from volunteers.selectors import (
    PLACE_STATUSES,
    BookingCounts,
    Places,
    booking_counts_by_slot,
    roster_person,
    session_roster,
)
from web.hosts import forms
from web.hosts.forms import form_errors_from
from web.hosts.views.common import ANSWERABLE, COMING, SLOTS_PREFIX, approval_enabled, managed, posted
from web.hosts.views.home import slots_when

# ---- sessions -----------------------------------------------------------------------------------------------


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
    with_approval = approval_enabled()
    chosen = request.GET.get("room")
    form = forms.SessionForm(posted(request), meeting_points=rooms, with_approval=with_approval,
                             initial={"meeting_point": int(chosen) if chosen and chosen.isdigit() else rooms[0].pk})
    changed = _rows_changed(request, forms.SlotFormSet) if request.method == "POST" else None
    if changed is not None:
        formset, said = changed
        return render(request, "web/hosts/session_form.html", {"form": forms.quiet(form), "formset": formset,
                                                                "rows_said": said})
    formset = forms.SlotFormSet(posted(request), prefix=SLOTS_PREFIX)
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):  # both checked: every error at once
        filled = formset.filled_forms()
        room = next(room for room in rooms if room.pk == form.cleaned_data["meeting_point"])
        day = form.cleaned_data["date"]
        _rows_check(filled, day, room, timezone.now())
        if not formset.total_error_count():
            extra = {"requires_approval": form.cleaned_data["requires_approval"]} if with_approval else {}
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
    session = managed(request, session_id)
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
@require_http_methods(["GET", "POST"])
def session_edit(request, session_id: int):
    session = managed(request, session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        messages.error(request, _("This session has been cancelled and can no longer be changed."))
        return redirect("hosts:session_detail", session_id=session.pk)
    with_approval = approval_enabled()
    slots = list(session.slots.all())
    now = timezone.now()
    day = timezone.localtime(min((slot.starts_at for slot in slots), default=session.starts_at)).date()
    started = any(slot.starts_at <= now for slot in slots)
    initial = {"title": session.title, "date": day, "description": session.description,
               "what_to_bring": session.what_to_bring}
    if with_approval:
        initial["requires_approval"] = session.requires_approval
    form = forms.SessionEditForm(posted(request), initial=initial, with_approval=with_approval)
    if started:  # a started slot keeps its times, so the day they are on stays too
        form.fields["date"].disabled = True
    rows_kwargs = {"initial": [forms.slot_initial(slot, day) for slot in slots]}
    changed = _rows_changed(request, forms.SlotEditFormSet, **rows_kwargs) if request.method == "POST" else None
    said = None
    if changed is not None:
        formset, said = changed
        form = forms.quiet(form)
    else:
        formset = forms.SlotEditFormSet(posted(request), prefix=SLOTS_PREFIX, **rows_kwargs)
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
                                    new_slots=[row.slot(day) for row in new_rows], **extra)
    return told


@login_required
@require_http_methods(["GET", "POST"])
def session_copy(request, session_id: int):
    session = managed(request, session_id)
    first_day = timezone.localtime(session.starts_at).date()
    form = forms.CopySessionForm(posted(request), first_day=first_day, limit=session_services.COPIES_MAX)
    if request.method == "POST" and form.is_valid():
        dates = list(form.chosen)
        try:
            copies = session_services.session_copies_create(user=request.user, session_id=session.pk, dates=dates)
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
    session = managed(request, session_id)
    if session.status == CanvassSession.Status.CANCELLED:
        messages.info(request, _("This session is already cancelled."))
        return redirect("hosts:session_detail", session_id=session.pk)
    booked = Booking.objects.filter(slot__session=session, status__in=(
        Booking.Status.PENDING, Booking.Status.CONFIRMED, Booking.Status.WAITLISTED)).count()
    form = forms.CancelSessionForm(posted(request))
    if request.method == "POST" and form.is_valid():
        session_services.session_cancel(user=request.user, session_id=session.pk)
        messages.success(request, _("The session is cancelled. Everyone who had booked is being texted."))
        return redirect("hosts:home")
    return render(request, "web/hosts/session_cancel.html", {"session": session, "form": form, "booked": booked})
