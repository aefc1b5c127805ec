"""The retention purge also deletes what points at no volunteer: Twilio webhook receipts (dispatch.sms) and
django-axes' login attempts and records (core), older than the retention period, through core.retention's hook
(volunteers never imports dispatch). A lockout still in force is never lifted; a dry run changes nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.management import call_command
from django.utils import timezone

from dispatch.sms.models import WebhookReceipt
from volunteers.privacy import personal_data_purge, personal_data_purge_all

pytestmark = pytest.mark.django_db


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def _receipt(sid: str, received_at, kind=WebhookReceipt.Kind.INBOUND, status="") -> WebhookReceipt:
    return WebhookReceipt.objects.create(kind=kind, message_sid=sid, message_status=status, received_at=received_at)


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


def test_the_purge_deletes_receipts_and_login_rows_older_than_the_retention(rows):
    before = _left()
    dry = personal_data_purge_all(older_than_days=90, dry_run=True)
    assert dry == {"volunteers": 0, "webhook receipts": 2, "login attempts": 1, "login records": 2}
    assert _left() == before  # a dry run only counts
    done = personal_data_purge_all(older_than_days=90)
    assert done == dry
    assert _left() == {"receipts": {"SM" + "3" * 32}, "attempts": {"203.0.113.2", "203.0.113.3"},
                       "logs": {"203.0.113.5"}}
    assert personal_data_purge_all(older_than_days=90) == {
        "volunteers": 0, "webhook receipts": 0, "login attempts": 0, "login records": 0}  # twice is once


def test_a_purge_of_everything_keeps_a_lockout_still_in_force(rows, settings):
    personal_data_purge_all(older_than_days=0)
    assert _left() == {"receipts": set(), "attempts": {"203.0.113.3"}, "logs": set()}


def test_the_command_and_the_beat_task_purge_them_too(rows, settings):
    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", "--dry-run", stdout=out)
    assert "would delete 1 login attempts, 2 login records, 2 webhook receipts" in out.getvalue()
    assert WebhookReceipt.objects.count() == 3
    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", stdout=out, stderr=StringIO())
    assert "deleted 1 login attempts, 2 login records, 2 webhook receipts" in out.getvalue()
    assert WebhookReceipt.objects.count() == 1

    from volunteers.tasks import personal_data_purge as task

    settings.PERSONAL_DATA_RETENTION_DAYS = 5
    assert task.delay().get() == 0  # no volunteers; the receipts and records go all the same
    assert _left() == {"receipts": set(), "attempts": {"203.0.113.2", "203.0.113.3"}, "logs": {"203.0.113.5"}}
    assert personal_data_purge(older_than_days=2) == 0
    assert _left()["logs"] == set()


def test_a_receipt_within_the_retention_still_stops_a_replay(rows):
    from dispatch.sms.services.webhooks import webhook_receipt_claim

    assert not webhook_receipt_claim(kind=WebhookReceipt.Kind.INBOUND, message_sid="SM" + "3" * 32)
    personal_data_purge_all(older_than_days=90)
    assert not webhook_receipt_claim(kind=WebhookReceipt.Kind.INBOUND, message_sid="SM" + "3" * 32)


def test_volunteers_does_not_import_dispatch():
    import ast
    from pathlib import Path

    import volunteers

    for path in Path(volunteers.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "dispatch" for name in names), path
