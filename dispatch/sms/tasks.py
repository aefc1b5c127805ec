"""Thin Celery tasks over dispatch.sms.services; each is safe to run twice."""

from celery import shared_task

from dispatch.sms import services


# The time limit stays below SMS_SENDING_STALE_SECONDS, so the sweep never takes over a live send.
@shared_task(name="sms.message_send", acks_late=True, time_limit=90, soft_time_limit=75)
def message_send(message_id: int) -> str:
    return services.message_send(message_id=message_id)


@shared_task(name="sms.messages_send_batch", acks_late=True, time_limit=600, soft_time_limit=570)
def messages_send_batch(message_ids: list[int]) -> int:
    """Many messages from one bulk change; each send claims its own row, so a redelivered batch sends nothing twice."""
    return sum(services.message_send(message_id=message_id) == "sent" for message_id in message_ids)


@shared_task(name="sms.outbox_sweep", time_limit=120, soft_time_limit=100)
def outbox_sweep() -> int:
    return services.messages_requeue_stuck()


@shared_task(name="sms.host_digests_enqueue", time_limit=280, soft_time_limit=250)
def host_digests_enqueue() -> int:
    return services.host_text_digests_enqueue()


@shared_task(name="sms.reminders_enqueue_due", time_limit=280, soft_time_limit=250)
def reminders_enqueue_due() -> int:
    return services.reminders_enqueue_due()
