"""A trusted host checks new hosts' sessions in the seats where they host (sessions.vetting): what the public would
see of each (title, description, seat, district, slots), never the room, its address or its host."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sessions.vetting import sessions_in_review
from web.coordinators.reviews import refuse_forms_attach, review_approve_answer, review_refuse_answer

QUEUE_MAX = 50


def _queue(request, *, refusing=None, refuse_form=None, status=200):
    sessions = list(sessions_in_review(user=request.user)[:QUEUE_MAX])
    refuse_forms_attach(sessions, refusing=refusing, refuse_form=refuse_form)
    return render(request, "web/hosts/reviews.html", {"sessions": sessions}, status=status)


@login_required
@require_GET
def reviews(request):
    return _queue(request)


@login_required
@require_POST
def review_approve(request, session_id: int):
    return review_approve_answer(request, session_id, back="hosts:reviews", published=_("Published: %(title)s."))


@login_required
@require_POST
def review_refuse(request, session_id: int):
    return review_refuse_answer(request, session_id, back="hosts:reviews", queue=_queue)
