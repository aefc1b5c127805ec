"""Calendars, feeds and CSV exports on the embedded default (`make run`: SQLite, eager Celery), driven in a child
process because the suite itself runs on PostgreSQL."""


import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import csv, io, json, re
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from sessions.models import Slot
from volunteers.models import Booking

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
from tests.factories import book
out = {}
slot = Slot.objects.filter(starts_at__gt=timezone.now()).order_by("starts_at", "id").first()
booking = book(slot, "+447400333339", postcode=slot.session.meeting_point.postcode, proven=True)
booking = Booking.objects.select_related("slot__session__meeting_point__host").get(pk=booking.pk)
client = Client(raise_request_exception=False)
cal = Calendar.from_ical(client.get(f"/b/{booking.manage_token}/calendar.ics").content)
out["ics_uid"] = str(cal.walk("VEVENT")[0]["UID"]).startswith(f"booking-{booking.pk}@")
made = client.post(f"/b/{booking.manage_token}/feed/", follow=True).content.decode()
feed = re.search(r'id="feed-url"[^>]*value="https?://[^/"]+(/feeds/[^"]+)"', made).group(1)
response = client.get(feed)
out["volunteer_feed"] = [response.status_code, len(Calendar.from_ical(response.content).walk("VEVENT")) >= 1]
host = Client(raise_request_exception=False)
host.force_login(booking.slot.session.meeting_point.host)
made = host.post("/host/feed/", follow=True).content.decode()
feed = re.search(r'id="feed-url"[^>]*value="https?://[^/"]+(/feeds/[^"]+)"', made).group(1)
response = Client().get(feed)
out["host_feed"] = [response.status_code, len(Calendar.from_ical(response.content).walk("VEVENT")) >= 1]
roster = host.get(f"/host/sessions/{booking.slot.session_id}/roster.csv")
out["roster"] = [roster.status_code, len(list(csv.DictReader(io.StringIO(b"".join(roster.streaming_content).decode()))))]
coordinator = Client(raise_request_exception=False)
coordinator.force_login(get_user_model().objects.get(username="coordinator"))
out["exports"] = {}
for name in ("bookings", "volunteers", "coverage", "sms-failures"):
    response = coordinator.get(f"/coordinate/exports/{name}.csv")
    body = b"".join(response.streaming_content).decode() if response.status_code == 200 else ""
    out["exports"][name] = [response.status_code, body.splitlines()[0].split(",")[0] if body else None]
api = coordinator.get("/api/exports/bookings/", HTTP_ACCEPT="text/csv")
out["api"] = [api.status_code, len(b"".join(api.streaming_content).decode().splitlines()) - 1]
out["bookings"] = Booking.objects.count()
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_calendars_feeds_and_exports_work_on_sqlite(tmp_path):
    result = embedded_run(SCRIPT, tmp_path)
    assert result["ics_uid"] is True
    assert result["volunteer_feed"] == [200, True] and result["host_feed"] == [200, True]
    assert result["roster"][0] == 200 and result["roster"][1] >= 1
    assert result["exports"] == {"bookings": [200, "booking_id"], "volunteers": [200, "volunteer_id"],
                                 "coverage": [200, "seat"], "sms-failures": [200, "message_id"]}
    assert result["api"] == [200, result["bookings"]]
