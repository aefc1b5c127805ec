"""The host's pages after the knock (docs/after-the-session.md): a big-button check-in list for the day, with the
code volunteers check themselves in with, and the session's report (doors, conversations, a note), on the host's
pages and by the private link emailed to them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError, NotFound
from core.ratelimit import limit_ip
from sessions.selectors import session_managed
from volunteers import aftercare
from volunteers.models import Booking, SessionReport
from volunteers.selectors import roster_person, session_roster
from volunteers.services import booking_attendance_record
from volunteers.turnout import expected_turnout
from web.volunteer.aftercare import form_error_apply

COMING = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED, Booking.Status.NO_SHOW)


class ReportForm(forms.Form):
    doors = forms.IntegerField(label=gettext_lazy("Doors knocked"), min_value=0, max_value=aftercare.DOORS_MAX,
                               widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    conversations = forms.IntegerField(label=gettext_lazy("Conversations"), min_value=0,
                                       max_value=aftercare.DOORS_MAX,
                                       help_text=gettext_lazy("Doors where you talked with someone."),
                                       widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    note = forms.CharField(label=gettext_lazy("A note for the organiser (optional)"), required=False,
                           max_length=aftercare.NOTE_MAX, widget=forms.Textarea(attrs={"rows": 4}))


def _managed(request, session_id: int):
    try:
        return session_managed(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None


def _slots_with_people(request, session):
    bookings = list(session_roster(user=request.user, session_id=session.pk, statuses=list(COMING)))
    for booking in bookings:
        booking.person = roster_person(booking)
    slots = list(session.slots.all())
    expected = expected_turnout(slot_ids=[slot.pk for slot in slots])
    now = timezone.now()
    return [{
        "slot": slot, "expected": expected.get(slot.pk),
        "people": [booking for booking in bookings if booking.slot_id == slot.pk],
        "arrived": sum(1 for booking in bookings if booking.slot_id == slot.pk
                       and booking.status == Booking.Status.ATTENDED),
        "started": slot.starts_at <= now,
        "code": aftercare.check_in_code(slot) if aftercare.check_in_window(slot)[0] <= now <= slot.ends_at else None,
    } for slot in slots]


@login_required
def check_in_list(request, session_id: int):
    """The day's list: each slot's code for self check-in (while its window is open), and a big "Arrived" /
    "Not coming" button per volunteer; plain forms, so it works on any phone without JavaScript."""
    session = _managed(request, session_id)
    return render(request, "web/aftercare/host_check_in.html", {
        "session": session, "slots": _slots_with_people(request, session), "Status": Booking.Status})


@login_required
@require_POST
def check_in_mark(request, session_id: int, booking_id: int):
    session = _managed(request, session_id)
    attended = request.POST.get("attended")
    if attended not in ("yes", "no"):
        messages.error(request, _("Choose whether the volunteer came."))
    else:
        try:
            booking = booking_attendance_record(user=request.user, session_id=session.pk, booking_id=booking_id,
                                                attended=attended == "yes")
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Recorded: %(name)s %(what)s.") % {
                "name": roster_person(booking).name or _("A volunteer"),
                "what": _("came") if booking.status == Booking.Status.ATTENDED else _("did not come")})
    return redirect(reverse("hosts:check_in", args=[session.pk]) + f"#booking-{booking_id}")


def _report_page(request, session, *, user, action: str, link: str | None):
    report = SessionReport.objects.filter(session=session).first()
    window = aftercare.report_window(session)
    now = timezone.now()
    initial = {"doors": report.doors, "conversations": report.conversations, "note": report.note} if report else {}
    form = ReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            aftercare.session_report_save(session=session, user=user, **form.cleaned_data)
        except DomainError as exc:
            form_error_apply(form, exc, default_field="note")
        else:
            messages.success(request, _("Thank you: your report is saved."))
            return redirect(action)
    people = Booking.objects.filter(slot__session=session).aggregate(  # a party counts each of its places
        came=Coalesce(Sum("party_size", filter=Q(status=Booking.Status.ATTENDED)), 0),
        missed=Coalesce(Sum("party_size", filter=Q(status=Booking.Status.NO_SHOW)), 0))
    came, missed = people["came"], people["missed"]
    return render(request, "web/aftercare/host_report.html", {
        "session": session, "form": form, "report": report, "open": window.open(now),
        "not_yet": now < window.opens, "closes": window.closes, "came": came, "missed": missed,
        "link": link, "signed_in": user is not None,
    })


@login_required
@require_http_methods(["GET", "POST"])
def report(request, session_id: int):
    session = _managed(request, session_id)
    link = request.build_absolute_uri(reverse("host_report_link", args=[aftercare.report_link_token(session)]))
    return _report_page(request, session, user=request.user, action=reverse("hosts:report", args=[session.pk]),
                        link=link)


@require_http_methods(["GET", "POST"])
@limit_ip("feedback_ip")
def report_by_link(request, token: str):
    """The same report by the private link emailed to the host: no sign-in needed on the doorstep's phone."""
    try:
        session = aftercare.session_for_report_token(token)
    except NotFound:
        raise Http404 from None
    return _report_page(request, session, user=None, action=request.path, link=None)
