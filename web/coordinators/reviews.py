"""The review queue (HOST_VETTING): new hosts' sessions waiting for an organiser's check, oldest first, each with
approve, refuse (with a reason the host sees) and "trust this host".

The queue is sessions.vetting.sessions_in_review(user=...), the one place that decides who sees which sessions
(a regional organiser's scope is a filter there), and the answers are its services. Trusting a host is for
national coordinators only (a trusted host publishes in every seat).
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, NotFound
from sessions.vetting import (
    REASON_MAX,
    host_trust_set,
    session_approve,
    session_refuse,
    sessions_in_review,
    vetting_decisions_recent,
)
from web.coordinators.views import page_number, pager_urls, staff_required

REVIEWS_PAGE_SIZE = 20


class RefuseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why not (the host sees this)"), max_length=REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 2}))


def refuse_forms_attach(sessions, *, refusing: int | None = None, refuse_form: RefuseForm | None = None) -> None:
    """Give each session of a review queue its refuse form: the one just posted (with its errors) for `refusing`."""
    for session in sessions:
        session.refuse_form = (refuse_form if session.pk == refusing and refuse_form is not None
                               else RefuseForm(auto_id=f"refuse-{session.pk}-%s"))


def review_approve_answer(request, session_id: int, *, published: str, back: str):
    """Approve for a reviewer's page (coordinator or trusted host): a message, then back to their queue."""
    try:
        session = session_approve(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, published % {"title": session.title})
    return redirect(back)


def review_refuse_answer(request, session_id: int, *, back: str, queue):
    """Refuse with the posted reason for a reviewer's page; a bad reason shows the queue again with its error."""
    form = RefuseForm(request.POST, auto_id=f"refuse-{session_id}-%s")
    if form.is_valid():
        try:
            session = session_refuse(user=request.user, session_id=session_id, reason=form.cleaned_data["reason"])
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            if not (error.fields and "reason" in error.fields):
                messages.error(request, error.message)
                return redirect(back)
            form.add_error("reason", error.message)
        else:
            messages.success(request, _("Not published: %(title)s. Its host sees your reason.")
                             % {"title": session.title})
            return redirect(back)
    return queue(request, refusing=session_id, refuse_form=form, status=400)


def _queue(request, *, refusing: int | None = None, refuse_form: RefuseForm | None = None, status: int = 200):
    page = Paginator(sessions_in_review(user=request.user), REVIEWS_PAGE_SIZE).get_page(page_number(request))
    refuse_forms_attach(page.object_list, refusing=refusing, refuse_form=refuse_form)
    return render(request, "web/coordinators/reviews.html", {
        "page": page, **pager_urls(page), "decisions": vetting_decisions_recent(user=request.user),
    }, status=status)


@staff_required(scoped=True)
@require_GET
def reviews(request):
    return _queue(request)


@staff_required(scoped=True)
@require_POST
def review_approve(request, session_id: int):
    return review_approve_answer(request, session_id, back="coordinators:reviews",
                                 published=_("Published: %(title)s. Its host's next sessions publish at once."))


@staff_required(scoped=True)
@require_POST
def review_refuse(request, session_id: int):
    return review_refuse_answer(request, session_id, back="coordinators:reviews", queue=_queue)


@staff_required
@require_POST
def host_trust(request, host_id: int):
    """Trust a host (trusted=1): their sessions publish at once from now on; their waiting ones stay in the queue.
    trusted=0 stops trusting them."""
    trusted = request.POST.get("trusted") == "1"
    try:
        host_trust_set(user=request.user, host_id=host_id, trusted=trusted)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("This host's new sessions now publish at once.") if trusted
                     else _("This host's new sessions now wait for an organiser's check."))
    return redirect("coordinators:reviews")
