"""Several slots with one code, "my bookings" and the remembered device on the embedded default (SQLite, eager
Celery): the same services through the ORM."""

import pytest

from tests.embedded import embedded_run

SQLITE_SCRIPT = r"""
import json
import re
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from notify.sms.models import SmsMessage
from sessions.models import Slot
from volunteers.models import Booking

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
chosen = []
for slot in Slot.objects.filter(starts_at__gt=timezone.now(), session__requires_approval=False).order_by(
        "session_id", "starts_at"):
    if slot.confirmed_count >= slot.capacity:
        continue
    if chosen and chosen[0].session_id != slot.session_id:
        chosen = []
    if not any(s.starts_at < slot.ends_at and slot.starts_at < s.ends_at for s in chosen):
        chosen.append(slot)
    if len(chosen) == 2:
        break
assert len(chosen) == 2, "the demo has a session with two free slots"
client = Client()
body = {"name": "Sam Lite", "phone": "07400 555564", "postcode": chosen[0].session.meeting_point.postcode,
        "consent_sms": True, "slot_ids": [s.id for s in chosen]}
asked = client.post("/api/bookings/", body, content_type="application/json")
challenge = asked.json()["challenge"]
code = re.search(r"code (\d{6})", SmsMessage.objects.get(challenge__token=challenge).body).group(1)
proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": code}, content_type="application/json").json()
listed = client.get("/api/my/bookings/", HTTP_X_DEVICE_TOKEN=proven["device_token"]).json()
page = Client()
location = page.post("/my/", {"phone": "07400 555564"})["Location"]
my_code = re.search(r"code (\d{6})", SmsMessage.objects.filter(to="+447400555564").order_by("-id")[0].body).group(1)
page.post(location, {"code": my_code})
print("RESULT " + json.dumps({
    "asked": asked.status_code, "proven": [b["proven"] for b in proven["upcoming"]],
    "listed": len(listed["upcoming"]), "page": page.get("/my/").content.decode().count("Manage this booking"),
    "codes": SmsMessage.objects.filter(kind="phone_code").count(),
    "bookings": Booking.objects.filter(volunteer__phone="+447400555564", proven_at__isnull=False).count()}))
"""


@pytest.mark.server  # a child process
def test_several_slots_and_my_bookings_work_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SQLITE_SCRIPT, tmp_path)
    assert result == {"asked": 202, "proven": [True, True], "listed": 2, "page": 2, "codes": 2, "bookings": 2}
