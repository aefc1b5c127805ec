"""The outbox: one mechanism for every channel (notify.sms, notify.email, notify.webhooks).

A row per message is written in the transaction of the change it tells of, and handed to Celery on commit. A
conditional UPDATE claims it (pending and due, or left "sending" by a dead worker), so a duplicate task is a
no-op; the channel's adapter sends it; a transient failure puts it back to pending with exponential back-off and
jitter until the channel's attempt cap, then it fails for good, the reason on the row for coordinators to see; a
sweep re-enqueues rows whose task was lost (broker down at commit) or whose worker died mid-send. What differs
per channel (what the claim reads, how a message goes, what a retry clears, what erasure blanks) is the
adapter's, named by its `Outbox` in the registry (notify.registry).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core.broker import enqueue


class OutboxRow(models.Model):
    """The columns every outbox row has. The status (its choices differ per channel), the time the current
    attempt started and the error columns are the channel's."""

    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


@dataclass(frozen=True)
class Outbox:
    """One channel's outbox: its rows, its settings (`<PREFIX>_MAX_ATTEMPTS`, `_RETRY_BASE_SECONDS`,
    `_RETRY_MAX_SECONDS` and the stale-after setting), and its adapter's hooks."""

    name: str  # the channel, as the registry and the tasks know it: "sms", "email", "webhooks"
    model: type[models.Model]
    setting: Callable[[str], Any]
    prefix: str  # of its settings: "SMS", "EMAIL", "WEBHOOK"
    what: str  # in log lines: "SMS", "email", "webhook delivery"
    send: Callable[[int], str]  # the adapter: claim one row and send it; returns the outcome
    sent: str  # the outcome that counts as sent in a batch: "sent" or "delivered"
    erase: Callable[[int], int]  # inside the erasing transaction: blank what the rows hold of a volunteer
    # Late-bound, so that a test patching the adapter's module-level enqueue sees every enqueue go through it.
    enqueue: Callable[..., None]
    in_flight: str = "sending"
    started_field: str = "send_started_at"
    stale_setting: str = ""
    status_fields: Callable[[str], dict] = lambda status: {}  # e.g. notify.sms's status_rank
    sweep_filter: Q = field(default_factory=Q)  # e.g. notify.webhooks': only enabled endpoints' rows

    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.setting(self.stale_setting))


def row_enqueue(outbox: Outbox, row_id: int, *, countdown: float | None = None) -> None:
    """Hand a row to Celery; if the broker is down the sweep picks it up later (core.broker.enqueue never waits)."""
    from notify.tasks import send

    enqueue(send, (outbox.name, row_id), countdown=countdown, what=f"{outbox.what} {row_id}")


def rows_enqueue_batches(outbox: Outbox, ids: list[int], *, size: int = 50, what: str = "") -> None:
    """Hand many rows to Celery, a batch per task (each send claims its own row, so a redelivered batch sends
    nothing twice); if the broker is down the sweep picks the rest up later."""
    from notify.tasks import send_batch

    for start in range(0, len(ids), size):
        if not enqueue(send_batch, (outbox.name, ids[start:start + size]), what=f"{len(ids) - start} {what}"):
            return


def retry_delay(outbox: Outbox, attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: the receiver's own answer if it gave one (Retry-After), else exponential
    back-off with jitter; never more than the channel's cap."""
    cap = outbox.setting(f"{outbox.prefix}_RETRY_MAX_SECONDS")
    if retry_after is not None:
        return min(cap, retry_after)
    base = outbox.setting(f"{outbox.prefix}_RETRY_BASE_SECONDS")
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter


def row_finish(outbox: Outbox, row_id: int, **fields) -> bool:
    """Record the end of the attempt this worker claimed; False if the row is no longer in flight (not ours)."""
    fields.update(outbox.status_fields(fields["status"]), updated_at=timezone.now(), next_attempt_at=None)
    return bool(outbox.model.objects.filter(pk=row_id, status=outbox.in_flight).update(**fields))


def attempt_failed(outbox: Outbox, *, row_id: int, attempts: int, transient: bool, message: str,
                   error: Callable[[str], dict],
                   retry_after: float | None = None, clear: dict | None = None, record: dict | None = None,
                   match: dict | None = None,
                   enqueue: Callable[..., None] | None = None, failed: str = "failed") -> str:
    """After a failed attempt: a transient error below the attempt cap puts the row back to pending, due after
    retry_delay, and enqueues it with that countdown ("retrying"); anything else fails it for good, the message
    on the row ("failed"). `error` gives the error columns for a message, `clear` what a retry resets, and
    `record` what either way records (e.g. the answer), `match` narrows the row further (e.g. to this attempt)."""
    now = timezone.now()
    mine = outbox.model.objects.filter(pk=row_id, status=outbox.in_flight, **(match or {}))
    if transient and attempts < outbox.setting(f"{outbox.prefix}_MAX_ATTEMPTS"):
        delay = retry_delay(outbox, attempts, retry_after)
        pending = "pending"
        if mine.update(status=pending, **outbox.status_fields(pending), next_attempt_at=now + timedelta(seconds=delay),
                       updated_at=now, **(clear or {}), **(record or {}), **error(message)):
            (enqueue or outbox.enqueue)(row_id, countdown=delay)
        return "retrying"
    text = message if not transient else f"Gave up after {attempts} attempts: {message}"
    mine.update(status=failed, **outbox.status_fields(failed), next_attempt_at=None, updated_at=now,
                **(record or {}), **error(text[:300]))
    return "failed"


def rows_requeue_stuck(outbox: Outbox, *, grace: timedelta = timedelta(seconds=30),
                       stale_after: timedelta | None = None, limit: int = 2000) -> int:
    """Re-enqueue rows whose task was lost (broker down at commit, a countdown dropped) or whose worker died
    mid-send. Safe to repeat: each send claims its row."""
    now = timezone.now()
    if stale_after is None:
        stale_after = outbox.stale_after()
    due = Q(status="pending", updated_at__lt=now - grace) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - grace))
    stuck = Q(status=outbox.in_flight, **{f"{outbox.started_field}__lt": now - stale_after})
    ids = list(outbox.model.objects.filter(due | stuck).filter(outbox.sweep_filter).order_by("id")
               .values_list("id", flat=True)[:limit])
    for row_id in ids:
        outbox.enqueue(row_id)
    return len(ids)


def row_retry(outbox: Outbox, *, row_id: int, statuses: list[str], match: Q | None = None,
              clear: dict | None = None) -> bool:
    """Coordinator action, inside the caller's transaction: put a finished row in one of `statuses` back to
    pending (what `clear` names reset) and enqueue it on commit. False, and nothing changed, if it is not in one."""
    pending = "pending"
    changed = outbox.model.objects.filter(match or Q(), pk=row_id, status__in=statuses).update(
        status=pending, **outbox.status_fields(pending), next_attempt_at=None, updated_at=timezone.now(),
        **(clear or {}))
    if changed:
        transaction.on_commit(lambda: outbox.enqueue(row_id))
    return bool(changed)
