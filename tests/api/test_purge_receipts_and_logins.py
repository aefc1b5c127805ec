"""The retention purge also deletes what points at no volunteer but says something about a person: django-axes'
login attempts and records (core), older than the retention period, through core.retention's hook (volunteers
never imports dispatch). A lockout still in force is never lifted; a dry run changes nothing.

Twilio webhook receipts (notify.sms) are kept whatever their age: they hold no personal data, and Twilio's
signature has no timestamp, so a receipt is the only thing that stops a captured signed webhook, replayed after
the purge, from being handled again."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.management import call_command
from django.utils import timezone

from notify.sms.models import WebhookReceipt
from tests.factories import WebhookReceiptFactory
from volunteers.privacy import personal_data_purge, personal_data_purge_all

pytestmark = pytest.mark.django_db


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def _receipt(sid: str, received_at, kind=WebhookReceipt.Kind.INBOUND, status="") -> WebhookReceipt:
    return WebhookReceiptFactory(kind=kind, message_sid=sid, message_status=status, received_at=received_at)


def _attempt(model, ip: str, when):
    row = model.objects.create(username="mallory", ip_address=ip, user_agent="curl/8", path_info="/admin/login/",
                               **({"failures_since_start": 6} if model is AccessAttempt else {}))
    model.objects.filter(pk=row.pk).update(attempt_time=when)  # auto_now_add: set after the insert
    return row


@pytest.fixture
def rows():
    return {
        "old_receipts": [_receipt("SM" + "1" * 32, _ago(days=100)),
                         _receipt("SM" + "2" * 32, _ago(days=95), kind=WebhookReceipt.Kind.STATUS, status="delivered")],
        "new_receipt": _receipt("SM" + "3" * 32, _ago(days=10)),
        "old_attempt": _attempt(AccessAttempt, "203.0.113.1", _ago(days=100)),
        "new_attempt": _attempt(AccessAttempt, "203.0.113.2", _ago(days=1)),
        "live_lockout": _attempt(AccessAttempt, "203.0.113.3", _ago(minutes=1)),
        "old_log": _attempt(AccessLog, "203.0.113.4", _ago(days=120)),
        "new_log": _attempt(AccessLog, "203.0.113.5", _ago(days=3)),
        "old_failure": _attempt(AccessFailureLog, "203.0.113.6", _ago(days=91)),
    }


def _left() -> dict:
    return {"receipts": set(WebhookReceipt.objects.values_list("message_sid", flat=True)),
            "attempts": set(AccessAttempt.objects.values_list("ip_address", flat=True)),
            "logs": set(AccessLog.objects.values_list("ip_address", flat=True))
            | set(AccessFailureLog.objects.values_list("ip_address", flat=True))}


ALL_RECEIPTS = {"SM" + "1" * 32, "SM" + "2" * 32, "SM" + "3" * 32}


def test_the_purge_deletes_login_rows_older_than_the_retention_and_keeps_every_receipt(rows):
    before = _left()
    dry = personal_data_purge_all(older_than_days=90, dry_run=True)
    assert dry == {"volunteers": 0, "login attempts": 1, "login records": 2, "front room disclosures": 0,
                   "front room holds": 0, "remembered devices": 0, "codes for unknown numbers": 0}
    assert _left() == before  # a dry run only counts
    done = personal_data_purge_all(older_than_days=90)
    assert done == dry
    assert _left() == {"receipts": ALL_RECEIPTS, "attempts": {"203.0.113.2", "203.0.113.3"},
                       "logs": {"203.0.113.5"}}
    assert personal_data_purge_all(older_than_days=90) == {
        "volunteers": 0, "login attempts": 0, "login records": 0, "front room disclosures": 0,
        "front room holds": 0, "remembered devices": 0, "codes for unknown numbers": 0}  # twice is once


def test_a_purge_of_everything_keeps_a_lockout_still_in_force_and_the_receipts(rows, settings):
    personal_data_purge_all(older_than_days=0)
    assert _left() == {"receipts": ALL_RECEIPTS, "attempts": {"203.0.113.3"}, "logs": set()}


def test_the_command_and_the_beat_task_purge_them_too(rows, settings):
    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", "--dry-run", stdout=out)
    assert ("would delete 0 codes for unknown numbers, 0 front room disclosures, 0 front room holds, 1 login "
            "attempts, 2 login records, 0 remembered devices older than that") in out.getvalue()
    assert "receipts" not in out.getvalue()
    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", stdout=out, stderr=StringIO())
    assert ("deleted 0 codes for unknown numbers, 0 front room disclosures, 0 front room holds, 1 login attempts, "
            "2 login records, 0 remembered devices older than that") in out.getvalue()
    assert WebhookReceipt.objects.count() == 3

    from volunteers.tasks import personal_data_purge as task

    settings.PERSONAL_DATA_RETENTION_DAYS = 5
    assert task.delay().get() == 0  # no volunteers; the login records go all the same, the receipts stay
    assert _left() == {"receipts": ALL_RECEIPTS, "attempts": {"203.0.113.2", "203.0.113.3"},
                       "logs": {"203.0.113.5"}}
    assert personal_data_purge(older_than_days=2) == 0
    assert _left()["logs"] == set()


def test_a_receipt_within_the_retention_still_stops_a_replay(rows):
    from notify.sms.services.webhooks import webhook_receipt_claim

    assert not webhook_receipt_claim(kind=WebhookReceipt.Kind.INBOUND, message_sid="SM" + "3" * 32)
    personal_data_purge_all(older_than_days=90)
    assert not webhook_receipt_claim(kind=WebhookReceipt.Kind.INBOUND, message_sid="SM" + "3" * 32)


def test_a_signed_webhook_replayed_after_the_purge_does_nothing_and_the_personal_data_still_goes(settings):
    from django.test import Client
    from twilio.request_validator import RequestValidator

    from notify.sms.models import SmsMessage
    from tests.sms.conftest import AUTH_TOKEN
    from tests.sms.factories import booking_make, slot_make, volunteer_make
    from volunteers.models import Booking, Volunteer

    public = "https://frontroom.example.org"
    settings.TWILIO_AUTH_TOKEN, settings.SMS_WEBHOOK_BASE_URL = AUTH_TOKEN, public
    settings.SMS_BACKEND = "locmem"

    def signed_no(phone: str, sid: str):
        params = {"From": phone, "To": "+447700900000", "Body": "NO", "MessageSid": sid, "AccountSid": "AC" + "a" * 32}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(public + "/twilio/inbound/", params)
        return Client().post("/twilio/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)

    # A volunteer still active: their NO, months ago, gave up one of their places.
    active = volunteer_make(name="Priya Shah")
    sooner = booking_make(slot=slot_make(starts_in=timedelta(days=2), title="Sooner"), volunteer=active)
    later = booking_make(slot=slot_make(starts_in=timedelta(days=5), title="Later"), volunteer=active)
    sid = "SM" + "7" * 32
    assert "given up Sooner" in signed_no(active.phone, sid).content.decode()
    # A volunteer whose last session ended long ago: due for the purge, with the texts sent to them.
    gone = volunteer_make(name="Sam Smith")
    old = booking_make(slot=slot_make(starts_in=timedelta(days=3), title="Long ago"), volunteer=gone)
    assert SmsMessage.objects.filter(volunteer=gone).exclude(to="").exists()
    from sessions.models import Slot

    Slot.objects.filter(pk=old.slot_id).update(starts_at=_ago(days=101), ends_at=_ago(days=100))
    Volunteer.objects.filter(pk=gone.pk).update(updated_at=_ago(days=100))
    WebhookReceipt.objects.update(received_at=_ago(days=120))  # older than the retention

    assert personal_data_purge_all(older_than_days=90)["volunteers"] == 1
    assert WebhookReceipt.objects.filter(message_sid=sid).exists()  # kept: no personal data, the replay guard
    erased = Volunteer.objects.get(pk=gone.pk)
    assert erased.anonymised_at is not None and erased.name == "" and erased.phone != gone.phone
    assert not SmsMessage.objects.filter(volunteer=gone).exclude(to="", body="").exists()

    replay = signed_no(active.phone, sid)
    assert replay.status_code == 200 and "<Message>" not in replay.content.decode()
    assert (Booking.objects.get(pk=sooner.pk).status, Booking.objects.get(pk=later.pk).status) == (
        Booking.Status.CANCELLED, Booking.Status.CONFIRMED)  # the replayed NO gave up nothing more


def test_volunteers_does_not_import_dispatch():
    import ast
    from pathlib import Path

    import volunteers

    for path in Path(volunteers.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "dispatch" for name in names), path
