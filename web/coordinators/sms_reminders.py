"""The day-before reminders' page (national coordinators): before the window, the plan (how many, the window, the
sender's capacity, when the last goes, how many do not fit); during and after it, what became of them (sent, waiting,
dropped late, failed). Server-rendered; a plain link refreshes it."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from notify.sms.services.reminder_window import reminder_plan_summary
from web.coordinators.views import staff_required


@staff_required
@require_GET
def sms_reminders(request):
    return render(request, "web/coordinators/sms_reminders.html", {"plan": reminder_plan_summary()})
