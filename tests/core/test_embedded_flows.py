"""The embedded default (`make run`: SQLite, eager Celery, SMS to the log) is the whole product: the main flows
the suite runs on PostgreSQL also work there. Booking and reminders are in test_embedded_defaults.py and the
assignment run in tests/web/test_coordinators_sqlite.py; this one drives a full slot's waitlist, its promotion,
an overflow to a neighbouring seat carried out by a coordinator, and a signed SMS reply, in a child process."""


import pytest

from tests.embedded import embedded_run

SCRIPT = r"""
import json
import re
import django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator
from notify.sms.models import SmsMessage
from sessions.models import Slot
from sessions.services import slot_update
from volunteers.models import Booking

assert connection.vendor == "sqlite" and settings.CELERY_TASK_ALWAYS_EAGER
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
client = Client(raise_request_exception=False)
coordinator = get_user_model().objects.get(username="coordinator")
from core.geo import haversine_km
from seats.models import Postcode

# A host opens one more session next door the way a host
# would, through the API: a front room in the nearest neighbouring seat, a session at the full slot's time.
slot = Slot.objects.filter(starts_at__gt=timezone.now()).order_by("starts_at", "id").first()
here = slot.session.meeting_point
nearby = sorted(Postcode.objects.filter(seat__in=slot.session.seat.neighbours.all()),
                key=lambda p: haversine_km(here.lat, here.lng, p.lat, p.lng))[0]
host = Client()
host.force_login(get_user_model().objects.get(username="tom"))
room = host.post("/api/meeting-points/", {"name": "Next door", "address": "1 Next Street", "postcode": nearby.postcode,
                 "capacity": 8}, content_type="application/json")
session = host.post("/api/sessions/", {"meeting_point": room.json()["id"], "title": "Next door canvass", "slots": [
    {"starts_at": slot.starts_at.isoformat(), "ends_at": slot.ends_at.isoformat(), "capacity": 4}]},
    content_type="application/json")
out = {"target": [room.status_code, session.status_code, session.json().get("seat", {}).get("ons_code")
                  in set(slot.session.seat.neighbours.values_list("ons_code", flat=True))]}
slot_update(user=coordinator, slot_id=slot.id, capacity=1)
postcode = slot.session.meeting_point.postcode


def book(phone):
    response = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Lite", "phone": phone,
                           "postcode": postcode, "consent_sms": True}, content_type="application/json")
    challenge = response.json()["challenge"]
    body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
    code = re.search(r"code (\d{6})", body).group(1)
    proven = client.post(f"/api/challenges/{challenge}/verify/", {"code": code}, content_type="application/json")
    return [response.status_code, proven.status_code], proven.json()


first, holder = book("07400 444441")
second, waiting = book("07400 444442")
out["booked"] = [first, holder["status"], second, waiting["status"]]

# Waitlist promotion: the holder cancels from their link, the next in line gets the place and a text.
out["cancel"] = client.post(f"/api/bookings/{holder['manage_token']}/cancel/").status_code
promoted = Booking.objects.get(manage_token=waiting["manage_token"])
out["promoted"] = [promoted.status, SmsMessage.objects.filter(booking=promoted, kind="booking_promoted").count()]

# An SMS reply: NO from the promoted volunteer's phone, signed as Twilio signs it, cancels the place.
url = settings.PUBLIC_BASE_URL.rstrip("/") + "/twilio/inbound/"
form = {"From": "+447400444442", "To": "+447000000000", "Body": "NO", "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "b" * 32}
signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, form)
reply = client.post("/twilio/inbound/", form, HTTP_X_TWILIO_SIGNATURE=signature)
promoted.refresh_from_db()
out["reply"] = [reply.status_code, promoted.status]

# Overflow: two more volunteers fill the slot and wait; a coordinator carries out the overflow plan.
third, _ = book("07400 444443")
fourth, _ = book("07400 444444")
client.force_login(coordinator)
plan = client.post("/api/dispatch/overflow/", {"session": slot.session_id, "dry_run": True},
                   content_type="application/json")
done = client.post("/api/dispatch/overflow/", {"session": slot.session_id, "dry_run": False},
                   content_type="application/json")
out["overflow"] = [third, fourth, plan.status_code, plan.json().get("moved"), done.status_code, done.json().get("moved")]
# Where to depends on the demo's sessions at the hour the test runs (dispatch.services.overflow: the same seat at
# the same time first, then neighbours by priority): the one moved volunteer is placed there, nowhere else.
moved = Booking.objects.filter(source="redirect", status="confirmed").select_related("slot__session")
around = {slot.session.seat_id, *slot.session.seat.neighbours.values_list("ons_code", flat=True)}
out["redirected"] = [moved.count(), all(b.slot.session.seat_id in around for b in moved)]
print("RESULT " + json.dumps(out))
"""


@pytest.mark.server  # a child process
def test_waitlist_overflow_and_sms_replies_work_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SCRIPT, tmp_path, OVERFLOW_AUTO="false", SMS_BACKEND="console",
                          TWILIO_AUTH_TOKEN="embedded-test-token")
    assert result["target"] == [201, 201, True]
    assert result["booked"] == [[202, 200], "confirmed", [202, 200], "waitlisted"]
    assert result["cancel"] == 200
    assert result["promoted"] == ["confirmed", 1]
    assert result["reply"] == [200, "cancelled"]
    assert result["overflow"] == [[202, 200], [202, 200], 200, 1, 200, 1]
    assert result["redirected"] == [1, True]
