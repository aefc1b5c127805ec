"""The front-room meter on the embedded default (SQLite, eager Celery): the same rules through the ORM."""

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
from volunteers.models import FrontRoomDisclosure, FrontRoomHold

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
slots, rooms = [], set()
for slot in Slot.objects.filter(starts_at__gt=timezone.now(), session__requires_approval=False).select_related(
        "session__meeting_point").order_by("starts_at"):
    if slot.session.meeting_point_id not in rooms and not any(
            s.starts_at < slot.ends_at and slot.starts_at < s.ends_at for s in slots):
        rooms.add(slot.session.meeting_point_id)
        slots.append(slot)
    if len(slots) == 2:
        break
client = Client()
shown = []
for slot in slots:
    asked = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Lite", "phone": "07400 555563",
                        "postcode": slot.session.meeting_point.postcode, "consent_sms": True},
                        content_type="application/json")
    challenge = asked.json()["challenge"]
    body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
    proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": re.search(r"code (\d{6})", body).group(1)},
                         content_type="application/json").json()
    again = client.get(f"/api/bookings/{proven['manage_token']}/").json()
    shown.append([proven["address"] is not None, proven["address_held"], again["address"] is not None])
print("RESULT " + json.dumps({"shown": shown, "ledger": FrontRoomDisclosure.objects.count(),
                              "holds": FrontRoomHold.objects.filter(released_at__isnull=True).count()}))
"""


@pytest.mark.server  # a child process
def test_the_meter_works_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SQLITE_SCRIPT, tmp_path, DISCLOSURE_MAX_ROOMS_PER_DAY="1")
    assert result == {"shown": [[True, False, True], [False, True, False]], "ledger": 1, "holds": 1}
