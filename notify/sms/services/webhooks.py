"""Twilio webhooks handled once: a replayed request (Twilio's retry, or an attacker resending a signed one)
finds its receipt and does nothing."""

from django.db import connection, transaction
from django.utils import timezone

from notify.sms.models import WebhookReceipt
from notify.sms.services.replies import inbound_handle
from notify.sms.services.sending import message_status_record

MESSAGE_SID_MAX = WebhookReceipt._meta.get_field("message_sid").max_length


def webhook_receipt_claim(*, kind: str, message_sid: str, message_status: str = "") -> bool:
    """Record the webhook as handled; False if it already was. Call inside the handling transaction: a
    concurrent replay waits on this row's unique key until that transaction ends, then does nothing."""
    # bench/sql_vs_orm.py receipt_claim: create() in a savepoint cost 5.1x this statement's CPU (BENCHMARKS.md
    # "Hand-written statements vs the ORM").
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {WebhookReceipt._meta.db_table} (kind, message_sid, message_status, received_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [kind, message_sid, message_status, timezone.now()],
        )
        return cursor.rowcount == 1


@transaction.atomic
def inbound_receive(*, message_sid: str, from_phone: str, body: str) -> str | None:
    """Act on an inbound SMS once per MessageSid and return the reply text; a replay returns None (no reply,
    no change). The reply is not stored: it can hold an address, and Twilio delivered it the first time."""
    if not webhook_receipt_claim(kind=WebhookReceipt.Kind.INBOUND, message_sid=message_sid):
        return None
    return inbound_handle(from_phone=from_phone, body=body)


@transaction.atomic
def status_receive(*, message_sid: str, status: str, error_code: int | None = None, error_message: str = "") -> bool:
    """Apply a status callback once per (MessageSid, MessageStatus); a replay changes nothing and returns False."""
    if not webhook_receipt_claim(kind=WebhookReceipt.Kind.STATUS, message_sid=message_sid,
                                 message_status=(status or "").strip().lower()[:20]):
        return False
    return message_status_record(sid=message_sid, status=status, error_code=error_code, error_message=error_message)
