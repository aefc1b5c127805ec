"""Thin Celery tasks over dispatch.webhooks.services; each is safe to run twice (a delivery claims its row)."""

from celery import shared_task

from dispatch.webhooks import services


# The time limit stays below WEBHOOK_DELIVERING_STALE_SECONDS, so the sweep never takes over a live attempt,
# and above the connect and read timeouts, so an attempt always ends by itself.
@shared_task(name="webhooks.delivery_send", acks_late=True, time_limit=60, soft_time_limit=50)
def delivery_send(delivery_id: int) -> str:
    return services.delivery_send(delivery_id=delivery_id)


@shared_task(name="webhooks.deliveries_send_batch", acks_late=True, time_limit=900, soft_time_limit=870)
def deliveries_send_batch(delivery_ids: list[int]) -> int:
    """One endpoint's deliveries from a bulk change (an assignment commit), one after another."""
    return sum(services.delivery_send(delivery_id=pk) == "delivered" for pk in delivery_ids)


@shared_task(name="webhooks.deliveries_sweep", time_limit=120, soft_time_limit=100)
def deliveries_sweep() -> int:
    return services.deliveries_requeue_stuck()
