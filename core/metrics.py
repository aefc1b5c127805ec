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


class StateCollector:
    """Gauges read when /metrics is scraped: the SMS outbox (by status, and the age of the oldest message still
    waiting to be sent), booking events not yet processed, and the Celery queue's depth in Redis.

    A few indexed queries per scrape (the outbox by its (status, next_attempt_at) index); any part that is down
    is reported as frontroom_up{part=...} 0 rather than failing the scrape.
    """

    def collect(self):
        from django.apps import apps
        from django.conf import settings
        from django.db.models import Count, Min
        from django.utils import timezone
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("frontroom_up", "Whether the metrics could read this part (1) or not (0).",
                               labels=["part"])
        now = timezone.now()
        try:
            sms = apps.get_model("sms", "SmsMessage")
            events = apps.get_model("volunteers", "BookingEvent")
            by_status = dict(sms.objects.order_by().values_list("status").annotate(n=Count("id")))
            oldest = sms.objects.filter(status="pending").aggregate(t=Min("created_at"))["t"]
            oldest_event = events.objects.filter(processed_at__isnull=True).aggregate(t=Min("created_at"))["t"]
        except Exception:  # noqa: BLE001 - the database is down: say so, keep the rest of the scrape
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            messages = GaugeMetricFamily(
                "frontroom_sms_messages", "SMS messages in the outbox by status (sent, delivered, failed, ...).",
                labels=["status"])
            for status in sms.Status.values:
                messages.add_metric([status], by_status.get(status, 0))
            yield messages
            yield GaugeMetricFamily("frontroom_sms_outbox_oldest_pending_age_seconds",
                                    "Age of the oldest SMS still waiting to be sent (0 when none).",
                                    value=(now - oldest).total_seconds() if oldest else 0.0)
            yield GaugeMetricFamily("frontroom_booking_events_oldest_unprocessed_age_seconds",
                                    "Age of the oldest booking event whose handlers have not finished (0 when none).",
                                    value=(now - oldest_event).total_seconds() if oldest_event else 0.0)
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
