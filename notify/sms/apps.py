from django.apps import AppConfig


class SmsConfig(AppConfig):
    """SMS through Twilio: an outbox channel (notify.outbox), quiet hours, replies and status callbacks. Its
    receivers are wired in notify.wiring. The label and tables are those it had as dispatch.sms."""

    name = "notify.sms"
    label = "sms"
    verbose_name = "SMS"
    # Webhook receipts are not in the retention purge (core.retention): a receipt holds no personal data
    # (kind, MessageSid, status, time) and is the only replay guard, since Twilio's signature has no timestamp.
