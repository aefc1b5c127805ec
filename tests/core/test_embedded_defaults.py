"""`make run` runs on the embedded defaults: SQLite, eager Celery, SMS to the log. The suite itself runs on
PostgreSQL, so this drives the SQLite path in a child process: migrate, load the demo, search, book with the code
read from the log (as a person running `make run` would), and remind."""


import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import io
import json
import logging
import re
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from sessions.models import Slot

call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
client = Client()
slot = Slot.objects.filter(starts_at__gt=timezone.now(), capacity__gte=2).order_by("starts_at", "id").first()
postcode = slot.session.meeting_point.postcode
out = {"search": client.get(f"/api/sessions/?near={postcode}").status_code, "bookings": []}
log = io.StringIO()
logging.getLogger("notify.sms.backends").addHandler(logging.StreamHandler(log))  # where the console backend writes
for phone in ("07400 111111", "07400 111111", "07400 222222"):
    response = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Example", "phone": phone,
                           "postcode": postcode, "consent_sms": True}, content_type="application/json")
    code = re.findall(r"Frontroom code (\d{6})", log.getvalue())[-1]
    link = re.findall(r"/b/([\w-]+)", log.getvalue())[-1]
    proven = client.post(f"/api/challenges/{response.json()['challenge']}/verify/", {"code": code},
                         content_type="application/json")
    out["bookings"].append([response.status_code, proven.status_code, proven.json().get("status"),
                            proven.json().get("manage_token") == link, bool(proven.json().get("address"))])
slot.refresh_from_db()
out["confirmed_count"] = slot.confirmed_count

# Reminders on SQLite: written a row at a time, sent at once by eager Celery to the console backend
# (the claim statement runs on SQLite too).
from datetime import time, timedelta
from django.conf import settings
from notify.sms.models import SmsMessage
from notify.sms.services import reminders_enqueue_due
settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)  # the test may run at night
lead = timedelta(minutes=30)  # SMS_REMINDER_SOON_MINUTES, by default
written = reminders_enqueue_due(now=slot.starts_at - lead + timedelta(minutes=2))
out["reminders"] = [written, reminders_enqueue_due(now=slot.starts_at - lead + timedelta(minutes=3))]
out["reminder_statuses"] = sorted(SmsMessage.objects.filter(kind="reminder_soon").values_list("status", flat=True))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_the_app_books_and_searches_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SCRIPT, tmp_path, from_nothing=True)  # the script migrates, as `make run` does
    assert (tmp_path / "frontroom.sqlite3").exists()
    assert result["search"] == 200
    assert result["bookings"] == [[202, 200, "confirmed", True, True]] * 3
    assert result["confirmed_count"] == 2
    assert result["reminders"] == [2, 0]
    assert result["reminder_statuses"] == ["queued", "queued"]  # accepted by the (console) backend
