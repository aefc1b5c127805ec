import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core import heartbeat


def health(request):
    """Liveness probe: no database, no cache. Also the baseline for the HTTP benchmarks."""
    return JsonResponse({"status": "ok"})


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
    except Exception as exc:  # noqa: BLE001 - any failure of a part is that part being down
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
    result.setdefault("status", "ok")
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> None:
    # The health probe's own round trip, not a read of data: there is nothing for the ORM to build.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker_url() -> str | None:
    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else None


@never_cache
def healthz(request):
    """Readiness: PostgreSQL, Redis and the Celery worker's and beat's heartbeats (core/heartbeat.py).

    200 when every check is ok, 503 (with Retry-After) when one is down; `mode` says how pages are served
    (_mode). ``?only=database,redis`` checks just
    those (the web container's own healthcheck). One SELECT 1 and one Redis round trip (PING and MGET), each
    with a short timeout; no rate limit, so monitors may poll it. On the embedded default (no Redis, Celery
    eager) the worker and beat are the web process itself and count as ok.
    """
    only = {name.strip() for name in request.GET.get("only", "").split(",") if name.strip()}
    wanted = [name for name in ("database", "redis", "worker", "beat") if not only or name in only]
    checks: dict[str, dict] = {}
    if "database" in wanted:
        checks["database"] = _timed(_database)
    url = _broker_url()
    heartbeats = [name for name in ("worker", "beat") if name in wanted]
    if url is None:
        for name in [*(["redis"] if "redis" in wanted else []), *heartbeats]:
            checks[name] = {"status": "ok", "detail": "embedded (no Redis, Celery eager)"}
    elif "redis" in wanted or heartbeats:
        found: dict[str, float | None] = {}

        def redis_check() -> None:
            client = heartbeat.client(url)
            client.ping()
            found.update(heartbeat.ages(heartbeats, url) if heartbeats else {})

        result = _timed(redis_check)
        if "redis" in wanted:
            checks["redis"] = result
        stale = heartbeat.stale_after()
        for name in heartbeats:
            age = found.get(name)
            if result["status"] != "ok":
                checks[name] = {"status": "down", "error": "Redis unreachable"}
            elif age is None:
                checks[name] = {"status": "down", "error": "no heartbeat"}
            else:
                checks[name] = {"status": "ok" if age <= stale else "down", "age_s": round(age, 1)}
    healthy = all(check["status"] == "ok" for check in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if "database" in wanted:
        body["mode"] = _mode(database_ok=checks["database"]["status"] == "ok")
    response = JsonResponse(body,
                            status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER)
    return response


def _page_cache_ok() -> bool:
    if not (settings.PAGE_CACHE_ENABLED and settings.PAGE_CACHE_URL):
        return False
    try:
        heartbeat.client(settings.PAGE_CACHE_URL).ping()
    except Exception:  # noqa: BLE001 - unreachable, refused or timed out: the pages are computed without it
        return False
    return True


def _mode(*, database_ok: bool) -> str:
    """How the public pages are served (docs/caching.md): "ok" (PostgreSQL and the shared page cache), "no-cache"
    (computed on every request: the cache is off or Redis unreachable), "degraded-db" (PostgreSQL unreachable:
    cached pages served as possibly out of date, bookings paused) or "down" (neither)."""
    cache_ok = _page_cache_ok()
    if database_ok:
        return "ok" if cache_ok else "no-cache"
    return "degraded-db" if cache_ok else "down"


def _metrics_allowed(request) -> bool:
    import hmac
    import ipaddress

    from core.ratelimit import client_ip

    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    if settings.METRICS_ALLOWED_IPS:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_IPS)
    return False


@never_cache
def metrics(request):
    """Prometheus metrics (core/metrics.py), for a bearer token (METRICS_TOKEN) or addresses (METRICS_ALLOWED_IPS).

    Anyone else gets a 404, as if there were nothing here: it is off until one of them is set.
    """
    from django.http import Http404, HttpResponse

    from core import metrics as app_metrics

    if not _metrics_allowed(request):
        raise Http404
    body, content_type = app_metrics.render()
    return HttpResponse(body, content_type=content_type)
