"""Webhooks on the embedded defaults (`make run`: SQLite, eager Celery), in a child process: an endpoint registered
through the API, a booking and its cancellation delivered signed to a local receiver after commit."""


import pytest

from tests.conftest import REPO_ROOT
from tests.embedded import embedded_run

SCRIPT = r"""
import json
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from standardwebhooks.webhooks import Webhook

call_command("migrate", verbosity=0)
from tests.webhooks.receiver import Receiver
from tests.factories import UserFactory
from tests.sms.factories import booking_make, slot_make
from notify.webhooks.models import WebhookDelivery
from volunteers.services import booking_cancel

receiver = Receiver().start()
client = Client()
client.force_login(UserFactory(username="coord", is_staff=True, email="", standing=False))
created = client.post("/api/webhooks/endpoints/", {"url": receiver.url + "/crm"}, content_type="application/json")
secret = created.json()["secret"]
booking = booking_make(slot=slot_make())
booking_cancel(manage_token=booking.manage_token)
types = [Webhook(secret).verify(r.body, r.headers)["type"] for r in receiver.to("/crm")]
print("RESULT " + json.dumps({"created": created.status_code, "types": types,
                              "statuses": sorted(WebhookDelivery.objects.values_list("status", flat=True))}))
receiver.stop()
"""


@pytest.mark.server  # a child process
def test_webhooks_work_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SCRIPT, tmp_path, SMS_BACKEND="console", WEBHOOK_ALLOW_HTTP="true",
                          WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32", PYTHONPATH=str(REPO_ROOT))
    assert (tmp_path / "frontroom.sqlite3").exists()
    assert result == {"created": 201, "types": ["booking.confirmed", "booking.cancelled"],
                      "statuses": ["delivered", "delivered"]}
