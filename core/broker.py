"""Kombu's Redis transport, publishing through one client per channel.

Stock kombu builds a new ``redis.Redis`` client for every message it publishes, and redis-py fills
a table of some 170 response callbacks in each new client: about a sixth of the CPU enqueueing a
Celery task costs, paid by every booking (its SMS is enqueued on commit). The client is only a
front for the channel's connection pool and is safe to share between threads, so this channel
keeps one. Everything else is kombu's.

``enqueue`` below is how requests publish work that a sweep would find anyway: once, fast, never raising.
"""

import logging
import time
from contextlib import contextmanager

import redis
from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)


class Channel(kombu_redis.Channel):
    _publish_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        if self._publish_client is None:
            if self.connection.client is None:
                # The connection was closed already (the worker lost the broker and closes it again): kombu
                # would build a client from settings it has dropped and die of an AttributeError, taking the
                # worker down. A connection error is what kombu ignores on close; the unacked messages stay
                # in Redis and are restored when their visibility timeout passes.
                raise redis.exceptions.ConnectionError("the broker connection is closed")
            self._publish_client = self._create_client()
        yield self._publish_client

    def close(self):
        self._publish_client = None
        super().close()


class Transport(kombu_redis.Transport):
    Channel = Channel


# --- Publishing when the broker may be down ------------------------------------------------------

_broker_down_until = 0.0  # time.monotonic() before which this process does not try the broker again


def enqueue(task, args: tuple = (), *, countdown: float | None = None, what: str = "") -> bool:
    """Publish `task(*args)` once, without waiting on a dead broker; False (and a warning) if it could not.

    For work whose rows are already committed and swept later (outbox, booking events): a request must not
    wait on Redis. The settings make one attempt give up within CELERY_BROKER_CONNECT_TIMEOUT (no connection
    retries, no publish retries), and after a failure this process skips the broker for
    CELERY_BROKER_DOWN_RETRY_SECONDS so that requests do not each pay for a connect while Redis is down.
    """
    global _broker_down_until
    from django.conf import settings

    from core import metrics

    eager = task.app.conf.task_always_eager  # runs in-process: no broker involved
    if not eager and _broker_down_until and time.monotonic() < _broker_down_until:
        metrics.enqueue_failed(task.name)
        return False
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure is covered by the sweeps
        if not eager:
            _broker_down_until = time.monotonic() + settings.CELERY_BROKER_DOWN_RETRY_SECONDS
        metrics.enqueue_failed(task.name)
        logger.warning("could not enqueue %s%s (%s: %s); the sweep will retry", task.name,
                       f" for {what}" if what else f"{args!r}", type(exc).__name__, exc)
        return False
    _broker_down_until = 0.0
    return True
