"""The coordinators' pages on the embedded default (`make run`: SQLite, eager Celery): issue 13 found an
assignment run answering 500 there once a volunteer had signed up (PostgreSQL-only SQL in core/db.py).
The suite runs on PostgreSQL, so this drives the SQLite path in a child process."""


import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import json
import re
from datetime import timedelta
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from dispatch.models import AssignmentRun, CoordinatorAction
from notify.sms.models import SmsMessage
from sessions.models import Slot
from volunteers.models import Booking

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
slot = Slot.objects.filter(starts_at__gt=timezone.now()).order_by("starts_at", "id").first()
postcode = slot.session.meeting_point.postcode
client = Client(raise_request_exception=False)
out = {}
window = [{"starts_at": (slot.starts_at - timedelta(hours=1)).isoformat(),
           "ends_at": (slot.ends_at + timedelta(hours=1)).isoformat()}]
for n, phone in enumerate(("07400 333331", "07400 333332")):
    response = client.post("/api/volunteers/", {"name": f"Sam Lite{n}", "phone": phone, "postcode": postcode,
                           "max_travel_km": 30, "consent_sms": True, "availability": window},
                           content_type="application/json")
    out.setdefault("signups", []).append(response.status_code)
    # The second step, as on the phone: the code texted (printed to the log here), read from the outbox.
    challenge = response.json()["challenge"]
    body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
    code = re.search(r"code (\d{6})", body).group(1)
    proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": code}, content_type="application/json")
    out.setdefault("proven", []).append(proven.status_code)
client.force_login(get_user_model().objects.get(username="coordinator"))
out["dashboard"] = [client.get(url).status_code for url in ("/coordinate/", "/coordinate/?map=boundaries&colour=fill")]
day = timezone.localtime(slot.starts_at).date().isoformat()
response = client.post("/coordinate/runs/", {"date_from": day, "date_to": day})
out["start"] = [response.status_code, response.get("Location", "")]
run = AssignmentRun.objects.order_by("-id").first()
out["solved"] = [run.state, run.totals.get("assigned")]
out["run_page"] = client.get(f"/coordinate/runs/{run.pk}/").status_code
out["commit"] = client.post(f"/coordinate/runs/{run.pk}/commit/").status_code
run.refresh_from_db()
out["committed"] = [run.state, run.totals.get("booked")]
out["assigned_bookings"] = Booking.objects.filter(source="assigned", status="confirmed").count()
out["seat"] = client.get(f"/coordinate/seats/{slot.session.seat_id}/").status_code
out["overflow"] = client.get(f"/coordinate/overflow/?seat={slot.session.seat_id}").status_code
out["sms"] = client.get("/coordinate/sms/?status=failures").status_code
out["actions"] = sorted(set(CoordinatorAction.objects.values_list("kind", flat=True)))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_an_assignment_run_starts_and_commits_from_the_pages_on_sqlite(tmp_path):
    result = embedded_run(SCRIPT, tmp_path)
    assert result["signups"] == [202, 202] and result["proven"] == [200, 200]
    assert result["dashboard"] == [200, 200]
    assert result["start"][0] == 302 and result["start"][1].startswith("/coordinate/runs/")
    assert result["solved"] == ["ready", 2]
    assert result["run_page"] == 200 and result["commit"] == 302
    assert result["committed"] == ["committed", 2]
    assert result["assigned_bookings"] == 2
    assert result["seat"] == result["overflow"] == result["sms"] == 200
    assert result["actions"] == ["overflow_planned", "run_committed", "run_started"]
