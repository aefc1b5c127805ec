"""The reminder window on the embedded defaults (`make run`: SQLite, eager Celery): planned a row at a time, held
until its second, dropped late after the window."""

import pytest

from tests.embedded import embedded_run

pytestmark = pytest.mark.server  # the app on SQLite in a child process

SCRIPT = r"""
import json
import django
django.setup()
from datetime import datetime, time, timedelta
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

call_command("migrate", verbosity=0)
from notify.sms import services
from notify.sms.models import SmsMessage
from notify.sms.services.reminder_window import reminders_release
from tests.sms.factories import booking_make, slot_make

settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(21), time(9)
settings.SMS_SENDER_CAPACITY_PER_SECOND = 1
local = lambda day, h, m=0, s=0: timezone.make_aware(datetime.combine(day, time(h, m, s)))
day = timezone.localdate() + timedelta(days=3)
slot = slot_make(starts_in=local(day, 14) - timezone.now())
bookings = [booking_make(slot=slot) for _ in range(3)]
eve = day - timedelta(days=1)
written = services.reminders_enqueue_due(now=local(eve, 11, 5))
rows = list(SmsMessage.objects.filter(kind="reminder_day_before").order_by("send_after", "id"))
out = {"written": written, "statuses": [m.status for m in rows],
       "after": [timezone.localtime(m.send_after).strftime("%H:%M:%S") for m in rows],
       "by": sorted({timezone.localtime(m.send_by).strftime("%H:%M") for m in rows})}
real_now = timezone.now
timezone.now = lambda: local(eve, 20, 0, 1)  # the window is over
out["sent"] = services.message_send(message_id=rows[0].pk)
out["dropped"] = reminders_release(now=local(eve, 20, 0, 1), enqueue=lambda row_id, countdown: None)["dropped"]
timezone.now = real_now
out["after_window"] = sorted(SmsMessage.objects.filter(kind="reminder_day_before").values_list("skip_reason", flat=True))
print("RESULT " + json.dumps(out))
"""


def test_the_window_plans_and_drops_on_sqlite(tmp_path):
    result = embedded_run(SCRIPT, tmp_path)
    assert result["written"] == 3 and result["statuses"] == ["pending"] * 3
    assert result["after"] == ["17:00:00", "17:00:01", "17:00:02"] and result["by"] == ["20:00"]
    assert result["sent"] == "skipped"  # claimed after its window: dropped, not sent
    assert result["dropped"] == 2 and result["after_window"] == ["dropped_late"] * 3
