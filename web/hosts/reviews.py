"""A trusted host checks new hosts' sessions in the seats where they host (sessions.vetting): what the public would
see of each (title, description, seat, district, slots), never the room, its address or its host."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, NotFound
from sessions.vetting import session_approve, session_refuse, sessions_in_review
from web.coordinators.reviews import RefuseForm

QUEUE_MAX = 50


def _queue(request, *, refusing=None, refuse_form=None, status=200):
    sessions = list(sessions_in_review(user=request.user)[:QUEUE_MAX])
    for session in sessions:
        session.refuse_form = (refuse_form if session.pk == refusing and refuse_form is not None
                               else RefuseForm(auto_id=f"refuse-{session.pk}-%s"))
    return render(request, "web/hosts/reviews.html", {"sessions": sessions}, status=status)


@login_required
@require_GET
def reviews(request):
    return _queue(request)


@login_required
@require_POST
def review_approve(request, session_id: int):
    try:
        session = session_approve(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Published: %(title)s.") % {"title": session.title})
    return redirect("hosts:reviews")


@login_required
@require_POST
def review_refuse(request, session_id: int):
    form = RefuseForm(request.POST, auto_id=f"refuse-{session_id}-%s")
    if form.is_valid():
        try:
            session = session_refuse(user=request.user, session_id=session_id, reason=form.cleaned_data["reason"])
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Not published: %(title)s. Its host sees your reason.")
                             % {"title": session.title})
        return redirect("hosts:reviews")
    return _queue(request, refusing=session_id, refuse_form=form, status=400)
