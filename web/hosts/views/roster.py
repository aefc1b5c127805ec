"""Who is coming to a host's session: the roster's CSV, attendance, approvals, releasing the address."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.db import pk_in_range
from core.errors import DomainError, NotFound
from core.exports import export_response
from volunteers import exports
from volunteers.disclosure import front_room_release_for_booking
from volunteers.models import Booking
from volunteers.selectors import roster_person
from volunteers.services import booking_approve, booking_attendance_record, booking_refuse
from web.hosts import forms
from web.hosts.views.common import ANSWERABLE, managed, posted


@login_required
@require_POST
def booking_address_release(request, session_id: int, booking_id: int):
    """The host lets a volunteer whose phone reached its allowance of front rooms see this room's address."""
    session = managed(request, session_id)
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
@require_POST
def attendance(request, session_id: int):
    session = managed(request, session_id)
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
    session = managed(request, session_id)
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
    session = managed(request, session_id)
    booking = (Booking.objects.select_related("volunteer", "slot")
               .filter(pk=booking_id, slot__session=session, approval=Booking.Approval.PENDING,
                       status__in=ANSWERABLE).first() if pk_in_range(Booking, booking_id) else None)
    if booking is None:
        messages.info(request, _("That volunteer is no longer waiting for your answer."))
        return _roster_at(session.pk)
    booking.person = roster_person(booking)
    form = forms.RefuseBookingForm(posted(request))
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
