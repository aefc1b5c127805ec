"""The email outbox on the embedded default (SQLite, eager Celery), where the claim and the booking read are two
statements (SQLite has no UPDATE inside WITH): a proven booking's confirmation and its cancellation, each once,
each with its calendar file."""


import pytest

from tests.embedded import embedded_run

SQLITE_SCRIPT = r"""
import json
import re
import django
django.setup()
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from notify.email.models import EmailMessage
from notify.sms.models import SmsMessage
from sessions.models import Slot

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
slot = Slot.objects.filter(starts_at__gt=timezone.now(), session__requires_approval=False).order_by("starts_at").first()
client = Client()
response = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Lite", "phone": "07400 555562",
                       "postcode": slot.session.meeting_point.postcode, "consent_sms": True,
                       "email": "sam@example.org", "consent_email": True}, content_type="application/json")
challenge = response.json()["challenge"]
body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": re.search(r"code (\d{6})", body).group(1)},
                     content_type="application/json").json()
client.post(f"/api/bookings/{proven['manage_token']}/cancel/")
rows = list(EmailMessage.objects.filter(volunteer__isnull=False).order_by("id").values_list("kind", "status", "to"))
sent = [(m.to, [a.get_param("method") for a in m.attachments if hasattr(a, "get_param")]) for m in mail.outbox
        if m.to == ["sam@example.org"]]
print("RESULT " + json.dumps({"rows": rows, "sent": sent}))
"""


@pytest.mark.server  # a child process
def test_a_booking_is_emailed_once_with_its_calendar_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SQLITE_SCRIPT, tmp_path, SMS_BACKEND="console", SMS_QUIET_HOURS_START="00:00",
                          SMS_QUIET_HOURS_END="00:00", RATE_LIMITS_ENABLED="false",
                          EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    assert result["rows"] == [["booking_confirmed", "sent", "sam@example.org"],
                              ["booking_cancelled", "sent", "sam@example.org"]]
    assert result["sent"] == [[["sam@example.org"], ["REQUEST"]], [["sam@example.org"], ["CANCEL"]]]
