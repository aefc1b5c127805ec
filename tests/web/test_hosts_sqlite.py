"""The hosts' forms on the embedded default (`make run`: SQLite, eager Celery): sign in by email as a demo host,
post one date with three slots, remove a booked slot (out of the public page and the search), copy to two dates.
Driven in a child process because the suite itself runs on PostgreSQL."""

import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import json
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from sessions.models import CanvassSession, MeetingPoint
from volunteers.models import Booking

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
from tests.factories import book
out = {}
host = Client(raise_request_exception=False)
out["login"] = host.post("/host/login/", {"username": "Priya@Example.org", "password": "frontroom-demo"}).status_code
day = timezone.localdate() + timedelta(days=3)
room = MeetingPoint.objects.filter(host__email="priya@example.org").first().pk
data = {"meeting_point": room, "title": "Embedded three", "date": day.isoformat(), "what_to_bring": "",
        "slots-TOTAL_FORMS": "3", "slots-INITIAL_FORMS": "0"}
for i, (start, end) in enumerate((("10:00", "11:00"), ("12:00", "13:00"), ("14:00", "15:00"))):
    data.update({f"slots-{i}-starts": start, f"slots-{i}-ends": end, f"slots-{i}-capacity": "4"})
out["post"] = host.post("/host/sessions/new/", data).status_code
session = CanvassSession.objects.get(title="Embedded three")
slots = list(session.slots.all())
booking = book(slots[1], "+447400333340", postcode=session.meeting_point.postcode, proven=True)
edit = {"title": session.title, "date": day.isoformat(), "what_to_bring": "", "description": "",
        "slots-TOTAL_FORMS": "3", "slots-INITIAL_FORMS": "3", "slots-1-DELETE": "on", "slots-1-confirm_remove": "on"}
for i, slot in enumerate(slots):
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    edit.update({f"slots-{i}-slot_id": slot.pk, f"slots-{i}-starts": f"{start:%H:%M}", f"slots-{i}-ends": f"{end:%H:%M}",
                 f"slots-{i}-capacity": "4"})
out["edit"] = host.post(f"/host/sessions/{session.pk}/edit/", edit).status_code
out["slots_left"] = session.slots.count()
out["booking"] = Booking.objects.get(pk=booking.pk).status
page = Client().get(f"/s/{session.pk}/").content.decode()
out["public_has_removed"] = "12:00" in page
from sessions.selectors import sessions_near
found = [row for row in sessions_near(lat=session.lat, lng=session.lng, radius_km=5, limit=50)
         if row["id"] == session.pk]
out["search_slots"] = len(found[0]["slots"])
copy = host.post(f"/host/sessions/{session.pk}/copy/", {"weekly_until": (day + timedelta(days=14)).isoformat()})
out["copy"] = [copy.status_code, CanvassSession.objects.filter(title="Embedded three").count()]
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_hosts_forms_work_on_sqlite(tmp_path):
    result = embedded_run(SCRIPT, tmp_path)
    assert result["login"] == 302 and result["post"] == 302 and result["edit"] == 302
    assert result["slots_left"] == 2 and result["booking"] == "cancelled"
    assert result["public_has_removed"] is False
    assert result["search_slots"] == 2
    assert result["copy"] == [302, 3]
