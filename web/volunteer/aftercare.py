"""The volunteer's pages after the knock (docs/after-the-session.md): the follow-up's feedback page, /b/<token>/after,
and self check-in with the host's code, /b/<token>/here/. Both are reached only by the booking's private link."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, NotFound
from core.ratelimit import limit_ip
from volunteers import aftercare
from volunteers.links import opened_automatically

YES_NO = [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]
RATINGS = [(str(n), str(n)) for n in range(1, 6)]


def form_error_apply(form, exc: DomainError, *, default_field: str) -> None:
    """A service's error on the page's form: each named field gets its own words; otherwise the message goes on
    `default_field` (a rate limit, a closed window)."""
    named = {name: words for name, words in (exc.fields or {}).items() if name in form.fields and words}
    for name, words in named.items():
        form.add_error(name, words[0])
    if not named:
        form.add_error(default_field, exc.message)


def _yes_no(value: str):
    return {"yes": True, "no": False}.get(value)


def _as_yes_no(value) -> str:
    return {True: "yes", False: "no"}.get(value, "")


class FeedbackForm(forms.Form):
    went = forms.ChoiceField(label=gettext_lazy("Did you go?"), choices=YES_NO, required=False,
                             widget=forms.RadioSelect)
    rating = forms.ChoiceField(label=gettext_lazy("How was it? (1 = poor, 5 = great)"), choices=RATINGS,
                               required=False, widget=forms.RadioSelect)
    again = forms.ChoiceField(label=gettext_lazy("Would you come again?"), choices=YES_NO, required=False,
                              widget=forms.RadioSelect)
    comment = forms.CharField(label=gettext_lazy("Anything to tell the organisers? (optional)"), required=False,
                              max_length=aftercare.COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class CheckInForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("The code your host shows"), max_length=12,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))


def _booking_or_404(token: str):
    try:
        return aftercare.feedback_for_token(manage_token=token)
    except NotFound:
        raise Http404(_("Not found.")) from None


@require_http_methods(["GET", "POST"])
@limit_ip("feedback_ip")
def feedback(request, token: str):
    """How it went: did you go, a rating, would you come again, a comment. Saved answers show again to change;
    after saving, a volunteer who went is shown the next sessions nearby. A link preview sees the question only."""
    booking, saved = _booking_or_404(token)
    now = timezone.now()
    is_open = aftercare.feedback_open(booking, now=now)
    automatic = opened_automatically(method=request.method, user_agent=request.headers.get("User-Agent"))
    initial = {} if saved is None or automatic else {
        "went": _as_yes_no(saved.went), "rating": str(saved.rating or ""), "again": _as_yes_no(saved.again),
        "comment": saved.comment}
    form = FeedbackForm(request.POST or None, initial=initial)
    if request.method == "POST" and is_open and form.is_valid():
        data = form.cleaned_data
        try:
            aftercare.feedback_record(booking_id=booking.pk, went=_yes_no(data["went"]),
                                      rating=int(data["rating"]) if data["rating"] else None,
                                      again=_yes_no(data["again"]), comment=data["comment"])
        except DomainError as exc:
            form_error_apply(form, exc, default_field="comment")
        else:
            messages.success(request, _("Thank you: your answers are saved."))
            return redirect("volunteer:feedback", token=token)
    came = saved is not None and not automatic and (saved.went is not False)
    return render(request, "web/aftercare/feedback.html", {
        "booking": booking, "session": booking.slot.session, "slot": booking.slot, "form": form, "open": is_open,
        "saved": saved if not automatic else None,
        "next_slots": aftercare.next_slots_nearby(booking=booking, now=now) if came else [],
    })


@require_http_methods(["GET", "POST"])
@limit_ip("check_in_ip")
def check_in(request, token: str):
    """"I'm here": the volunteer types the code their host shows, on the day, within the slot's window."""
    booking, _saved = _booking_or_404(token)
    is_open = aftercare.check_in_open(booking)
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and is_open and form.is_valid():
        try:
            aftercare.booking_check_in(manage_token=token, code=form.cleaned_data["code"])
        except DomainError as exc:
            form_error_apply(form, exc, default_field="code")
        else:
            messages.success(request, _("You're checked in. Thank you for coming!"))
            return redirect("volunteer:check_in", token=token)
    return render(request, "web/aftercare/check_in.html", {
        "booking": booking, "session": booking.slot.session, "slot": booking.slot, "form": form, "open": is_open,
        "checked_in": booking.status == booking.Status.ATTENDED, "early": settings.CHECK_IN_EARLY_MINUTES,
    })
