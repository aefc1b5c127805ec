"""`make run` runs on the embedded defaults: SQLite, eager Celery, SMS to the log. The suite itself runs on
PostgreSQL, so this drives the SQLite path in a child process: migrate, load the demo, search and book."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = r"""
import json
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
for phone in ("07400 111111", "07400 111111", "07400 222222"):
    response = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Example", "phone": phone,
                           "postcode": postcode, "consent_sms": True}, content_type="application/json")
    out["bookings"].append([response.status_code, response.json().get("status")])
slot.refresh_from_db()
out["confirmed_count"] = slot.confirmed_count
print("RESULT " + json.dumps(out))
"""


def test_the_app_books_and_searches_on_the_embedded_sqlite_defaults(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", FRONTROOM_VAR_DIR=str(tmp_path))
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.split("RESULT ", 1)[1])
    assert (tmp_path / "frontroom.sqlite3").exists()
    assert result["search"] == 200
    assert result["bookings"] == [[201, "confirmed"], [200, "confirmed"], [201, "confirmed"]]
    assert result["confirmed_count"] == 2
