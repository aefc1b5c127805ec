"""Abuse limits kept in the shared cache (Redis in production), so every gunicorn worker and machine counts together.

A limit is a number of hits per fixed window for one scope (what is being done) and one key (who is
doing it: a client IP, a phone number). Every limit is a setting, ``RATE_LIMITS[scope]`` as
"count/period" with period s, m, h or d, and each can be raised from the environment for load tests
(README, "Abuse limits"). Over the limit, ``rate_limit`` raises RateLimited, which the API maps to 429 with
Retry-After and the pages to a friendly 429 page.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from core.errors import RateLimited

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """"10/m" -> (10, 60); "100/5m" -> (100, 300)."""
    try:
        count, period = rate.strip().split("/")
        unit = period[-1].lower()
        multiplier = int(period[:-1] or 1)
        return int(count), multiplier * _PERIODS[unit]
    except (ValueError, KeyError, IndexError) as exc:
        raise ImproperlyConfigured(f"A rate limit is 'count/period' such as 10/m or 100/d, got {rate!r}") from exc


def _cache_key(scope: str, key: str, window_start: int) -> str:
    # Keys are hashed: a phone number or an IP address is personal data and stays out of Redis in clear.
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{scope}:{key}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window_start}"


def rate_limit(*, scope: str, key: str, message: str | None = None, fields: dict | None = None) -> None:
    """Count one hit of `scope` by `key`; raise RateLimited (429) once the scope's limit for the window is passed."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    rate = settings.RATE_LIMITS.get(scope)
    if not rate:
        return
    allowed, period = parse_rate(rate)
    now = int(time.time())
    window_start = now - now % period
    cache = caches[settings.RATE_LIMIT_CACHE]
    cache_key = _cache_key(scope, key, window_start)
    # add() then incr(): both atomic in Redis, so concurrent workers never lose a count.
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=period + 1)
        hits = 1
    if hits > allowed:
        raise RateLimited(message or "Too many attempts. Please wait a little and try again.",
                          retry_after=window_start + period - now, fields=fields)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the configured trusted proxy header's last hop when one is set."""
    header = settings.TRUSTED_PROXY_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            # The proxy appends the address it saw; anything before it is what the client claimed.
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
