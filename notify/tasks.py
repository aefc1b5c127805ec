"""The outbox's Celery tasks, one set for every channel (notify.registry); each is safe to run twice, as each send
claims its row. The channels' old task names (sms.message_send, email.outbox_sweep, ...) stay registered for one
release, forwarding here (notify/*/tasks.py), so that messages already queued under them are not lost."""

from celery import shared_task

from notify.registry import channel_get, channels


# The time limit stays below every channel's stale-after setting (120 s by default), so the sweep never takes over
# a live send, and above the webhooks' connect and read timeouts, so an attempt always ends by itself.
@shared_task(name="notify.send", acks_late=True, time_limit=90, soft_time_limit=75)
def send(channel: str, row_id: int) -> str:
    return channel_get(channel).send(row_id)


@shared_task(name="notify.send_batch", acks_late=True, time_limit=900, soft_time_limit=870)
def send_batch(channel: str, row_ids: list[int]) -> int:
    """Many rows from one bulk change, one after another; returns how many were sent."""
    outbox = channel_get(channel)
    return sum(outbox.send(row_id) == outbox.sent for row_id in row_ids)


@shared_task(name="notify.sweep", time_limit=120, soft_time_limit=100)
def sweep() -> int:
    """Every channel's sweep (notify.outbox.rows_requeue_stuck); returns how many rows were re-enqueued."""
    from notify.outbox import rows_requeue_stuck

    return sum(rows_requeue_stuck(outbox) for outbox in channels())


@shared_task(name="notify.unconfirmed_release", time_limit=280, soft_time_limit=250)
def unconfirmed_release() -> int:
    """Beat: release places not confirmed by their deadline (notify.confirmations); one effect however often."""
    from notify.confirmations import unconfirmed_release as release

    return release()
