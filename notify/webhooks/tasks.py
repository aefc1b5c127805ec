"""Thin Celery tasks over notify.webhooks.services; each is safe to run twice (a delivery claims its row)."""

from celery import shared_task

from notify.tasks import send, send_batch
from notify.webhooks import services


# The channel's old task names, kept for one release (remove in the next): messages queued under them before the
# outbox became one (notify.tasks) are still sent, by the same code.
@shared_task(name="webhooks.delivery_send", acks_late=True, time_limit=90, soft_time_limit=75)
def delivery_send(delivery_id: int) -> str:
    """Alias of notify.send for this channel."""
    return send("webhooks", delivery_id)


@shared_task(name="webhooks.deliveries_send_batch", acks_late=True, time_limit=900, soft_time_limit=870)
def deliveries_send_batch(delivery_ids: list[int]) -> int:
    """Alias of notify.send_batch for this channel."""
    return send_batch("webhooks", delivery_ids)


@shared_task(name="webhooks.deliveries_sweep", time_limit=120, soft_time_limit=100)
def deliveries_sweep() -> int:
    """Alias of notify.sweep, for this channel alone."""
    return services.deliveries_requeue_stuck()
