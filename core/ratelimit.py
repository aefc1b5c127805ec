"""Abuse limits kept in the shared cache (Redis in production), so every gunicorn worker and machine counts together.

A limit is a number of hits per fixed window for one scope (what is being done) and one key (who is
doing it: a client IP, a phone number). Every limit is a setting, ``RATE_LIMITS[scope]`` as
"count/period" with period s, m, h or d, several windows joined by commas ("30/h,100/d", each enforced)
or "off"; each can be set from the environment (docs/limits.md). Over the limit, ``rate_limit`` raises
RateLimited, which the API maps to 429 with Retry-After and the pages to a friendly 429 page
(web.middleware).

Why not django-ratelimit or DRF throttles: services count per phone number, with no request at hand,
and pages, services and API views should share one API and one store. This module is that API; the view
helpers at the bottom (``limit_ip`` for any Django view, ``ip_throttle`` for DRF views) only pick the key.
Failed logins are django-axes' job (core.auth), not this module's.

When the cache is unreachable the limiter fails open: the request goes through, a warning is logged, and
this process leaves the cache alone for RATE_LIMIT_CACHE_RETRY_SECONDS so that requests do not each wait
for a socket timeout while Redis is down.
"""

import hashlib
import hmac
import ipaddress
import logging
import time
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache, wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from core.env import parse_rates
from core.errors import RateLimited

logger = logging.getLogger(__name__)

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

_cache_unavailable_until = 0.0  # time.monotonic() before which this process does not ask the cache


def _now() -> int:
    return int(time.time())


@lru_cache(maxsize=256)
def _rates(raw: str) -> tuple[tuple[int, int], ...]:
    return parse_rates(raw)


def _cache_key(scope: str, key: str, period: int, window_start: int) -> str:
    # Keys are keyed hashes: a phone number or an IP address is personal data and stays out of Redis in clear,
    # and without SECRET_KEY nobody can tell from a key whose it is.
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{scope}:{key}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{period}:{window_start}"


# INCR each key, giving a new one its expiry, atomically (a script runs alone): one command and one reply per
# request, where MULTI/SET NX/INCR/EXEC costs four replies to parse, and no key ever lives without a TTL.
# Keys come in groups, one per scope (ARGV: each key's TTL, its allowed count, and 1 where its group ends): once a
# group is over its count the script stops there, so the scopes after it count nothing, as when rate_limit is called
# once per scope and the first RateLimited stops the caller (rate_limits: several scopes in one round trip).
_COUNT_SCRIPT = """
local n = #KEYS
local counts = {}
local over = false
for i, key in ipairs(KEYS) do
  local c = redis.call('INCR', key)
  if c == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = c
  if c > tonumber(ARGV[n + i]) then over = true end
  if over and ARGV[2 * n + i] == '1' then return counts end
end
return counts
"""


def _redis_script(cache: RedisCache):
    # Django builds a new redis.Redis per operation (about 150 µs of CPU: its table of reply callbacks); one
    # client per cache instance (per thread) does, over the same connection pool. The script is sent by its
    # SHA (EVALSHA), and in full only when Redis does not know it yet.
    backend = cache._cache
    script = getattr(backend, "_ratelimit_script", None)
    if script is None:
        script = backend._ratelimit_script = backend.get_client(write=True).register_script(_COUNT_SCRIPT)
    return script


def _count_hits(cache, keys: list[tuple[str, int, int, bool]]) -> list[int]:
    """Add one hit to each (key, ttl, allowed, ends_group) in order and return the counts, in one round trip to
    Redis; counting stops at the end of the first group with a count over its allowed (fewer counts returned)."""
    if isinstance(cache, RedisCache):
        # Django's Redis serializer stores ints raw, so the counters stay readable with cache.get().
        return list(_redis_script(cache)(keys=[cache.make_and_validate_key(key) for key, *_ in keys],
                                         args=[*(ttl for _, ttl, _, _ in keys), *(allowed for _, _, allowed, _ in keys),
                                               *(int(ends) for *_, ends in keys)]))
    # Any other cache (in-process memory on the embedded default): add() then incr().
    counts, over = [], False
    for key, ttl, allowed, ends in keys:
        cache.add(key, 0, timeout=ttl)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=ttl)
            counts.append(1)
        over = over or counts[-1] > allowed
        if over and ends:
            break
    return counts


def rate_limit(*, scope: str, key: str, message: str | None = None, fields: dict | None = None) -> None:
    """Count one hit of `scope` by `key`; raise RateLimited (429) once any of the scope's windows is over its count.

    Every call counts, refused ones too. A scope named ``*_ip`` takes a client address (``client_ip(request)``)
    and counts IPv6 clients by network (``ip_key``), and against their wider network too (``ip_aggregate_key``).
    An unknown scope is a programming error (ImproperlyConfigured); a scope set to "off", or
    RATE_LIMITS_ENABLED=false, counts nothing. Fails open when the cache is down.
    """
    rate_limits([(scope, key, message, fields)])


def rate_limits(limits: list[tuple[str, str, str | None, dict | None]]) -> None:
    """rate_limit for several (scope, key, message, fields) in order, in one round trip to the cache: the same
    counts and the same RateLimited as calling rate_limit for each in turn, the first limit over its count
    raising and the ones after it counting nothing."""
    global _cache_unavailable_until
    if not settings.RATE_LIMITS_ENABLED:
        return
    now = _now()
    plans = [plan for plan in (_limit_plan(*limit, now=now) for limit in limits) if plan is not None]
    if not plans or (_cache_unavailable_until and time.monotonic() < _cache_unavailable_until):
        return
    keys = [(cache_key, ttl, allowed, index == len(plan.keys) - 1)
            for plan in plans for index, (cache_key, ttl, allowed) in enumerate(plan.keys)]
    try:
        counts = _count_hits(caches[settings.RATE_LIMIT_CACHE], keys)
    except (RedisError, OSError) as exc:
        _cache_unavailable_until = time.monotonic() + settings.RATE_LIMIT_CACHE_RETRY_SECONDS
        logger.warning("Rate limits are not enforced for %ss: the cache is unreachable (%s: %s)",
                       settings.RATE_LIMIT_CACHE_RETRY_SECONDS, type(exc).__name__, exc)
        return
    _cache_unavailable_until = 0.0
    for plan in plans:
        hits, counts = counts[:len(plan.keys)], counts[len(plan.keys):]
        over = [start + period - now for (allowed, period, start), count in zip(plan.windows, hits, strict=False)
                if count > allowed]
        if over:
            raise RateLimited(plan.message or _("Too many attempts. Please wait a little and try again."),
                              retry_after=max(over), fields=plan.fields)


@dataclass(frozen=True)
class _Plan:
    windows: list[tuple[int, int, int]]  # (allowed, period, window start)
    keys: list[tuple[str, int, int]]  # (cache key, ttl, allowed), one per window
    message: str | None
    fields: dict | None


def _limit_plan(scope: str, key: str, message: str | None = None, fields: dict | None = None, *,
                now: int) -> _Plan | None:
    """What one hit of `scope` by `key` counts: its windows and their keys; None for a scope set to "off"."""
    try:
        raw = settings.RATE_LIMITS[scope]
    except KeyError:
        raise ImproperlyConfigured(f"No rate limit scope {scope!r} in settings.RATE_LIMITS") from None
    rates = _rates(raw)
    if not rates:
        return None
    windows = [(allowed, period, now - now % period) for allowed, period in rates]
    aggregate = None
    if scope.endswith("_ip"):
        aggregate = ip_aggregate_key(key)
        key = ip_key(key)  # whoever passes client_ip(request), an IPv6 client counts as its /64
    keys = [_cache_key(scope, key, period, start) for _, period, start in windows]
    if aggregate is not None:
        # The client's /48 counts too, allowed RATE_LIMIT_IPV6_AGGREGATE_FACTOR times as many: whoever holds a /48
        # could otherwise take 65,536 /64s and as many allowances (docs/limits.md). Same round trip.
        factor = settings.RATE_LIMIT_IPV6_AGGREGATE_FACTOR
        keys += [_cache_key(f"{scope}:net", aggregate, period, start) for _, period, start in windows]
        windows += [(allowed * factor, period, start) for allowed, period, start in windows]
    return _Plan(windows=windows, keys=[(cache_key, period + 1, allowed) for cache_key, (allowed, period, _)
                                        in zip(keys, windows, strict=True)], message=message, fields=fields)


def rate_limit_once(*, scope: str, key: str, hit: str, message: str | None = None) -> None:
    """rate_limit for one hit named `hit` (an outbox row): the first call counts it and its answer is kept for the
    scope's longest window, so a repeat (the row's send retried after a transient error, or taken over from a dead
    worker) counts nothing and gets the same answer, RateLimited again if the first was refused. Fails open as
    rate_limit does; with the cache unreachable a repeat may count again."""
    global _cache_unavailable_until
    if not settings.RATE_LIMITS_ENABLED:
        return
    rates = _rates(settings.RATE_LIMITS[scope]) if scope in settings.RATE_LIMITS else None
    if not rates:
        rate_limit(scope=scope, key=key, message=message)  # "off" counts nothing; unknown raises
        return
    ttl = max(period for _, period in rates) + 1
    marker = _cache_key(f"{scope}:once", f"{key}:{hit}", ttl, 0)
    cache = caches[settings.RATE_LIMIT_CACHE]
    if not (_cache_unavailable_until and time.monotonic() < _cache_unavailable_until):
        try:
            # add() is SET NX: of two workers taking over the same row at once, one counts.
            if not cache.add(marker, 1, timeout=ttl):
                if cache.get(marker) == 0:
                    raise RateLimited(message or _("Too many attempts. Please wait a little and try again."),
                                      retry_after=ttl)
                return
        except (RedisError, OSError) as exc:
            _cache_unavailable_until = time.monotonic() + settings.RATE_LIMIT_CACHE_RETRY_SECONDS
            logger.warning("Rate limits are not enforced for %ss: the cache is unreachable (%s: %s)",
                           settings.RATE_LIMIT_CACHE_RETRY_SECONDS, type(exc).__name__, exc)
    try:
        rate_limit(scope=scope, key=key, message=message)
    except RateLimited:
        with suppress(RedisError, OSError):
            cache.set(marker, 0, timeout=ttl)
        raise


# --- Who is asking -------------------------------------------------------------------------------


def _meta_name(header: str) -> str:
    """'X-Forwarded-For' or 'HTTP_X_FORWARDED_FOR' -> 'HTTP_X_FORWARDED_FOR'."""
    name = header.strip().upper().replace("-", "_")
    return name if name.startswith("HTTP_") or name == "REMOTE_ADDR" else f"HTTP_{name}"


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    candidates = [value]
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        candidates.append(value[1:value.index("]")])
    elif value.count(":") == 1:  # 203.0.113.9:443
        candidates.append(value.split(":")[0])
    for candidate in candidates:
        try:
            return ipaddress.ip_address(candidate)
        except ValueError:
            continue
    return None


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the configured trusted proxy header when one is set.

    With TRUSTED_PROXY_IP_HEADER set, the address is the TRUSTED_PROXY_COUNT-th hop from the right of that
    header (each proxy of ours appends the address it saw; anything to the left is what the client claimed).
    Without it, X-Forwarded-For and the like are ignored: anyone can send them.
    """
    header = settings.TRUSTED_PROXY_IP_HEADER
    if header:
        hops = [hop for hop in request.META.get(_meta_name(header), "").split(",") if hop.strip()]
        if hops:
            parsed = _parse_ip(hops[-min(settings.TRUSTED_PROXY_COUNT, len(hops))])
            if parsed is not None:
                return str(parsed)
    parsed = _parse_ip(request.META.get("REMOTE_ADDR", ""))
    return str(parsed) if parsed is not None else "unknown"


def ip_key(ip: str) -> str:
    """What limits count by: an IPv4 address, or the IPv6 network of RATE_LIMIT_IPV6_PREFIX bits (default /64).

    One home or phone is given a whole /64 (or more) and can pick any address in it, so counting single IPv6
    addresses would let one client multiply every limit by 2**64.
    """
    parsed = _parse_ip(ip)
    if parsed is None:
        return ip
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        network = ipaddress.ip_network(f"{parsed}/{settings.RATE_LIMIT_IPV6_PREFIX}", strict=False)
        return str(network.network_address)
    return str(parsed)


def ip_aggregate_key(ip: str) -> str | None:
    """The IPv6 network of RATE_LIMIT_IPV6_AGGREGATE_PREFIX bits (default /48) an address's limits also count
    against, or None for IPv4 (and IPv4-mapped) addresses, anything unparsable, or when it is no wider than
    the per-client prefix."""
    parsed = _parse_ip(ip)
    prefix = settings.RATE_LIMIT_IPV6_AGGREGATE_PREFIX
    if (not isinstance(parsed, ipaddress.IPv6Address) or parsed.ipv4_mapped
            or not prefix or prefix >= settings.RATE_LIMIT_IPV6_PREFIX):
        return None
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False).network_address)


def client_ip_key(request) -> str:
    return ip_key(client_ip(request))


def axes_client_ip(request) -> str | None:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address the limits use (it stores it as an IP, or NULL)."""
    key = client_ip_key(request)
    return None if key == "unknown" else key


def limit_ip(scope: str, *, methods: tuple[str, ...] = UNSAFE_METHODS, message: str | None = None):
    """Decorate a Django view (a function, or View.as_view()) to count `scope` per client IP on `methods`.

    For a class-based page view: ``@method_decorator(limit_ip("password_reset_ip"), name="dispatch")``.
    RateLimited raised here becomes a 429 page, or JSON under /api/ (web.middleware).
    """
    methods = tuple(m.upper() for m in methods)

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                rate_limit(scope=scope, key=client_ip_key(request), message=message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class _IPThrottle(BaseThrottle):
    scope: str = ""
    methods: tuple[str, ...] = UNSAFE_METHODS
    message: str | None = None

    def allow_request(self, request, view) -> bool:
        # Raising instead of returning False gives the one error shape (code rate_limited) and our Retry-After.
        if request.method in self.methods:
            rate_limit(scope=self.scope, key=client_ip_key(request), message=self.message)
        return True


def ip_throttle(scope: str, *, methods: tuple[str, ...] = UNSAFE_METHODS, message: str | None = None) -> type:
    """A DRF throttle class counting `scope` per client IP: ``throttle_classes = [ip_throttle("booking_ip")]``."""
    return type(f"IPThrottle[{scope}]", (_IPThrottle,),
                {"scope": scope, "methods": tuple(m.upper() for m in methods), "message": message})
