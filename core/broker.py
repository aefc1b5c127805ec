"""Kombu's Redis transport, publishing through one client per channel.

Stock kombu builds a new ``redis.Redis`` client for every message it publishes, and redis-py fills
a table of some 170 response callbacks in each new client: about a sixth of the CPU enqueueing a
Celery task costs, paid by every booking (its SMS is enqueued on commit). The client is only a
front for the channel's connection pool and is safe to share between threads, so this channel
keeps one. Everything else is kombu's.
"""

from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _publish_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        if self._publish_client is None:
            self._publish_client = self._create_client()
        yield self._publish_client

    def close(self):
        self._publish_client = None
        super().close()


class Transport(kombu_redis.Transport):
    Channel = Channel
