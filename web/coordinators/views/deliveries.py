"""What was sent: the SMS log, a message and its retry, email failures."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dispatch.models import CoordinatorAction
from dispatch.services.audit import personal_data_access_log
from dispatch.services.common import action_record
from notify.sms.backends import backend_accepted_words
from notify.sms.models import SmsMessage
from notify.sms.services import message_retry
from seats.scopes import seat_scope_for
from volunteers.privacy import Access
from web.coordinators import selectors
from web.coordinators.forms import SmsFilterForm, cleaned_or_default
from web.coordinators.views.common import page_number, pager_urls, staff_required

SMS_PAGE_SIZE = 50


# ---- SMS log -----------------------------------------------------------------------------------------------


@staff_required(scoped=True)
@require_GET
def sms_log(request):
    form = SmsFilterForm(request.GET or None)
    form.is_valid()
    filters = {name: cleaned_or_default(form, name, default) for name, default in
               (("status", ""), ("kind", ""), ("opted_out", False), ("retried", False))}
    page = Paginator(selectors.sms_log(**filters, failures_value=SmsFilterForm.FAILURES,
                                       scope=seat_scope_for(request.user)), SMS_PAGE_SIZE) \
        .get_page(page_number(request))
    params = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    return render(request, "web/coordinators/sms_log.html", {
        "form": form, "page": page, **pager_urls(page, params), "accepted_words": _(backend_accepted_words()),
    })


def _sms_or_404(request, message_id: int) -> SmsMessage:
    message = selectors.sms_message(message_id=message_id, scope=seat_scope_for(request.user))
    if message is None:
        raise Http404
    return message


@staff_required(scoped=True)
@require_http_methods(["GET", "POST"])
def sms_message(request, message_id: int):
    """The message with its number masked; POST shows the number and text, and says so in the audit log."""
    message = _sms_or_404(request, message_id)
    revealed = request.method == "POST"
    if revealed:
        personal_data_access_log(actor=request.user, action=Access.VIEWED,
                                 volunteer_ids=[message.volunteer_id] if message.volunteer_id else [],
                                 detail={"where": "coordinator sms message", "message": message.pk,
                                         "fields": ["to", "name", "body"]})
    return render(request, "web/coordinators/sms_message.html", {"message": message, "revealed": revealed,
                                                                 "accepted_words": _(backend_accepted_words())})


@staff_required(scoped=True)
@require_POST
def sms_retry(request, message_id: int):
    message = _sms_or_404(request, message_id)
    if message_retry(message_id=message.pk):
        action_record(actor=request.user, kind=CoordinatorAction.Kind.SMS_RETRIED,
                      params={"sms_message": message.pk, "volunteer": message.volunteer_id}, result={})
        messages.success(request, _("Message queued to be sent again."))
    else:
        messages.error(request, _("Only a failed or unsent message can be sent again."))
    return redirect("coordinators:sms-message", message_id=message.pk)


# ---- email failures ----------------------------------------------------------------------------------------

EMAIL_PROBLEMS = ("failed", "assumed")


@staff_required
@require_GET
def email_failures(request):
    """Emails that failed or whose outcome is unknown (handed over, no answer), newest first, addresses masked; the
    admin's email log has every row and sends chosen ones again."""
    from notify.email.admin import mask_email
    from notify.email.models import EmailMessage

    rows = EmailMessage.objects.filter(status__in=EMAIL_PROBLEMS).order_by("-created_at", "-id")
    page = Paginator(rows, SMS_PAGE_SIZE).get_page(page_number(request))
    for message in page.object_list:
        message.masked_to = mask_email(message.to)
    return render(request, "web/coordinators/email_failures.html", {
        "page": page, **pager_urls(page),
    })
