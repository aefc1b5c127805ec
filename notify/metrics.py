"""What /metrics reads of the outboxes at each scrape (core.metrics.state_reader_register)."""

from datetime import datetime


def sms_outbox_gauges(now: datetime) -> list:
    """SMS messages by status, and the age of the oldest one still waiting to be sent (0 when none): a reminder
    planned for later in its window counts from its planned time, not from when it was written."""
    from django.db.models import Count, Min
    from django.db.models.functions import Coalesce
    from prometheus_client.core import GaugeMetricFamily

    from notify.sms.models import SmsMessage

    by_status = dict(SmsMessage.objects.order_by().values_list("status").annotate(n=Count("id")))
    oldest = SmsMessage.objects.filter(status="pending").exclude(send_after__gt=now).aggregate(
        t=Min(Coalesce("send_after", "created_at")))["t"]
    messages = GaugeMetricFamily(
        "frontroom_sms_messages", "SMS messages in the outbox by status (sent, delivered, failed, ...).",
        labels=["status"])
    for status in SmsMessage.Status.values:
        messages.add_metric([status], by_status.get(status, 0))
    return [messages, GaugeMetricFamily("frontroom_sms_outbox_oldest_pending_age_seconds",
                                        "Age of the oldest SMS still waiting to be sent (0 when none).",
                                        value=(now - oldest).total_seconds() if oldest else 0.0)]
