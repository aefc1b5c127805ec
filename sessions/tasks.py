"""Thin Celery tasks over sessions' services; each is safe to run twice."""

from celery import shared_task

from sessions import hosts


@shared_task(name="sessions.host_verification_email_send", acks_late=True, time_limit=60, soft_time_limit=45)
def host_verification_email_send(host_id: int) -> bool:
    """Run twice, the host may get two links (both work); none once their address is proven."""
    return hosts.host_verification_email_send(host_id=host_id)
