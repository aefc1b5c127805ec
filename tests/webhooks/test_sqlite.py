"""Webhooks on the embedded defaults (`make run`: SQLite, eager Celery), in a child process: an endpoint registered
through the API, a booking and its cancellation delivered signed to a local receiver after commit."""

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
from django.contrib.auth import get_user_model
from django.test import Client
from standardwebhooks.webhooks import Webhook

call_command("migrate", verbosity=0)
from tests.webhooks.receiver import Receiver
from tests.sms.factories import booking_make, slot_make
from dispatch.webhooks.models import WebhookDelivery
from volunteers.services import booking_cancel

receiver = Receiver().start()
client = Client()
client.force_login(get_user_model().objects.create_user("coord", password="x-long-password-1", is_staff=True))
created = client.post("/api/webhooks/endpoints/", {"url": receiver.url + "/crm"}, content_type="application/json")
secret = created.json()["secret"]
booking = booking_make(slot=slot_make())
booking_cancel(manage_token=booking.manage_token)
types = [Webhook(secret).verify(r.body, r.headers)["type"] for r in receiver.to("/crm")]
print("RESULT " + json.dumps({"created": created.status_code, "types": types,
                              "statuses": sorted(WebhookDelivery.objects.values_list("status", flat=True))}))
receiver.stop()
"""


def test_webhooks_work_on_the_embedded_sqlite_defaults(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", FRONTROOM_VAR_DIR=str(tmp_path), SMS_BACKEND="console",
               WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32", PYTHONPATH=str(REPO_ROOT))
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.split("RESULT ", 1)[1])
    assert (tmp_path / "frontroom.sqlite3").exists()
    assert result == {"created": 201, "types": ["booking.confirmed", "booking.cancelled"],
                      "statuses": ["delivered", "delivered"]}
