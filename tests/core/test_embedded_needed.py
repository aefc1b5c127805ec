""""Send me where I'm needed" on the embedded defaults (`make run`: SQLite, eager Celery, SMS to the log), in a
child process: sign up with a postcode district through the page, the code from the text, the private page,
change, stop; and a search by district."""

import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import json
import re
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from notify.sms.models import SmsMessage
from seats.models import PostcodeDistrict
from volunteers.models import Volunteer

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
client = Client(raise_request_exception=False)
district = PostcodeDistrict.objects.filter(seat__isnull=False).order_by("outcode").first()
day = (timezone.localdate() + timezone.timedelta(days=2)).isoformat()
out = {"find": client.get("/find/", {"postcode": district.outcode.lower()}).status_code}
asked = client.post("/needed/", {"name": "Sam Lite", "phone": "07400 555551", "postcode": district.outcode.lower(),
                                 "max_travel_km": "10", "when": [f"{day}:morning", f"{day}:afternoon"],
                                 "consent_sms": "on"})
body = SmsMessage.objects.filter(to="+447400555551").values_list("body", flat=True).first()
link = re.search(r"(/n/[A-Za-z0-9_-]+)", body).group(1)
before = client.get(link)
done = client.post(asked["Location"], {"code": re.search(r"code (\d{6})", body).group(1)})
volunteer = Volunteer.objects.get(phone="+447400555551")
out["signup"] = [asked.status_code, before["Location"] == asked["Location"], done["Location"] == link,
                 volunteer.postcode == district.outcode, volunteer.availability.count()]
out["page"] = client.get(link).status_code
changed = client.post(link + "/change/", {"when": [f"{day}:evening"], "max_travel_km": "25",
                                          "postcode": district.outcode})
stopped = client.post(link + "/stop/", {"confirm": "True"})
out["change_stop"] = [changed.status_code, stopped.status_code, volunteer.availability.count()]
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_the_sign_up_with_a_district_works_on_the_embedded_sqlite_defaults(tmp_path):
    assert embedded_run(SCRIPT, tmp_path) == {
        "find": 200, "signup": [302, True, True, True, 1], "page": 200, "change_stop": [302, 302, 0]}
