"""A host's front rooms: opening one and changing it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from sessions import services as session_services
from sessions.models import MeetingPoint
from volunteers.disclosure import front_room_phones_shown
from web.hosts import forms
from web.hosts.forms import form_errors_from
from web.hosts.views.common import posted

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
    form = forms.MeetingPointForm(posted(request), initial=initial)
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
    form = forms.MeetingPointEditForm(posted(request), initial=initial)
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
