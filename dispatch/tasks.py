"""Thin Celery tasks over dispatch services; each takes ids and is safe to run twice."""

from celery import shared_task

from dispatch.models import OverflowMove
from dispatch.services import assignment, overflow


@shared_task(name="dispatch.assignment_run_execute", acks_late=True, time_limit=900, soft_time_limit=840)
def assignment_run_execute(run_id: int) -> str:
    return assignment.run_execute(run_id=run_id).state


@shared_task(name="dispatch.assignment_run_commit", acks_late=True, time_limit=900, soft_time_limit=840)
def assignment_run_commit(run_id: int) -> str:
    return assignment.run_commit_execute(run_id=run_id).state


@shared_task(name="dispatch.assignment_runs_sweep", time_limit=120, soft_time_limit=100)
def assignment_runs_sweep() -> int:
    return assignment.run_tasks_requeue_lost()


@shared_task(name="dispatch.overflow_slot", acks_late=True, time_limit=300, soft_time_limit=280)
def overflow_slot(slot_id: int) -> int:
    overflow.overflow_pending_clear(slot_id=slot_id)
    return len(overflow.overflow_for_slot(slot_id=slot_id, trigger=OverflowMove.Trigger.WAITLIST).moves)


@shared_task(name="dispatch.overflow_sweep", time_limit=300, soft_time_limit=280)
def overflow_sweep() -> int:
    return overflow.overflow_sweep()
