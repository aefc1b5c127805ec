"""Prometheus metrics: counters kept by the processes that do the work, gauges read at scrape time.

Counters (requests, bookings, emails, failed enqueues) live in this process; under gunicorn with several
workers set PROMETHEUS_MULTIPROC_DIR (an empty directory shared by the workers, emptied at start) and
prometheus_client sums the workers' files. What other processes do (Celery workers sending SMS) and what
must be right whoever scrapes (the outbox, the queue) is read from PostgreSQL and Redis at scrape time
(core.views.metrics), so it needs no shared state.
"""

from prometheus_client import Counter

REQUESTS = Counter("frontroom_http_requests", "HTTP requests answered, by method and status class.",
                   ["method", "status"])
BOOKINGS = Counter("frontroom_bookings", "Bookings made (committed), by their status when made.", ["status"])
EMAILS = Counter("frontroom_emails", "Emails handed to the email backend, by result (sent or failed).", ["result"])
ENQUEUE_FAILURES = Counter("frontroom_task_enqueue_failures",
                           "Celery tasks that could not be published (broker down); the sweeps catch up.", ["task"])


def enqueue_failed(task_name: str) -> None:
    ENQUEUE_FAILURES.labels(task=task_name).inc()


class RequestMetricsMiddleware:
    """Counts every answered request by method and status class (2xx, 4xx, ...): a few label values, bounded."""

    _METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        method = request.method if request.method in self._METHODS else "other"
        REQUESTS.labels(method=method, status=f"{response.status_code // 100}xx").inc()
        return response


# --- Scrape time: what the database and Redis say, whichever process did the work ---------------------------


# What the apps above core read from the database at each scrape (core imports none of them): each app registers a
# reader in its AppConfig.ready, called with the time of the scrape, that returns its gauges.
_STATE_READERS: list = []


def state_reader_register(reader) -> None:
    """Add reader(now) -> [GaugeMetricFamily, ...] to every scrape of /metrics; registering it twice adds it once."""
    if reader not in _STATE_READERS:
        _STATE_READERS.append(reader)


class StateCollector:
    """Gauges read when /metrics is scraped: what the apps registered (the SMS outbox by status and the age of the
    oldest message still waiting to be sent, notify; booking events not yet processed, volunteers), and the Celery
    queue's depth in Redis.

    A few indexed queries per scrape (the outbox by its (status, next_attempt_at) index); any part that is down
    is reported as frontroom_up{part=...} 0 rather than failing the scrape.
    """

    def collect(self):
        from django.conf import settings
        from django.utils import timezone
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("frontroom_up", "Whether the metrics could read this part (1) or not (0).",
                               labels=["part"])
        now = timezone.now()
        try:
            families = [family for reader in _STATE_READERS for family in reader(now)]
        except Exception:  # noqa: BLE001 - the database is down: say so, keep the rest of the scrape
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield from families
        url = settings.CELERY_BROKER_URL
        if url.startswith(("redis://", "rediss://")):
            from core import heartbeat

            depth = GaugeMetricFamily("frontroom_celery_queue_depth", "Messages waiting in a Celery queue (LLEN).",
                                      labels=["queue"])
            try:
                queue = settings.CELERY_TASK_DEFAULT_QUEUE
                depth.add_metric([queue], heartbeat.client(url).llen(queue))
            except Exception:  # noqa: BLE001 - Redis is down
                up.add_metric(["redis"], 0)
            else:
                up.add_metric(["redis"], 1)
                yield depth
        yield up


def render() -> tuple[bytes, str]:
    """The exposition text: this process's counters (every gunicorn worker's in multiprocess mode) and the state."""
    import os

    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    state = CollectorRegistry()
    state.register(StateCollector())
    return generate_latest(counters) + generate_latest(state), CONTENT_TYPE_LATEST
