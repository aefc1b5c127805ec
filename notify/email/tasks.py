"""Thin Celery tasks over notify.email.services; each is safe to run twice."""

from celery import shared_task

from notify.email import services
from notify.tasks import send, send_batch


# The channel's old task names, kept for one release (remove in the next): messages queued under them before the
# outbox became one (notify.tasks) are still sent, by the same code.
@shared_task(name="email.message_send", acks_late=True, time_limit=90, soft_time_limit=75)
def message_send(message_id: int) -> str:
    """Alias of notify.send for this channel."""
    return send("email", message_id)


@shared_task(name="email.messages_send_batch", acks_late=True, time_limit=900, soft_time_limit=870)
def messages_send_batch(message_ids: list[int]) -> int:
    """Alias of notify.send_batch for this channel."""
    return send_batch("email", message_ids)


@shared_task(name="email.outbox_sweep", time_limit=120, soft_time_limit=100)
def outbox_sweep() -> int:
    """Alias of notify.sweep, for this channel alone."""
    return services.messages_requeue_stuck()


@shared_task(name="email.reminders_enqueue_due", time_limit=280, soft_time_limit=250)
def reminders_enqueue_due() -> int:
    return services.reminders_enqueue_due()


@shared_task(name="email.host_digests_enqueue", time_limit=280, soft_time_limit=250)
def host_digests_enqueue() -> int:
    return services.host_digests_enqueue()


@shared_task(name="email.follow_ups_enqueue_due", time_limit=280, soft_time_limit=250)
def follow_ups_enqueue_due() -> int:
    return services.follow_ups_enqueue_due()


@shared_task(name="email.host_reports_enqueue_due", time_limit=280, soft_time_limit=250)
def host_reports_enqueue_due() -> int:
    from notify.email.services.host_reports import host_reports_enqueue_due as enqueue

    return enqueue()
