"""Rendered public pages kept in Redis, shared by every worker and machine, and dropped by tag (docs/caching.md).

An entry is a response as it left the view (status, a few headers, the body), with its language and the tags of
what it shows: `slot:<id>` for each slot whose places it shows, `session:<id>` for each session, `catalogue` for
lists that a new or edited session can change. A tag is never a list of keys: it is the Redis time it was last
bumped. An entry is good while every one of its tags was bumped before the entry's view started (the time is
taken from Redis before the view reads PostgreSQL), so a booking that commits while a page renders still drops
that page. Bumps run after commit (web.invalidation); a bump lost to a Redis blip is bounded by the entry's
freshness (PAGE_CACHE_FRESH_SECONDS).

Entries outlive their freshness by PAGE_CACHE_STALE_SECONDS: that is what degraded mode serves while PostgreSQL is
unreachable (web.page_cache). Redis unreachable: every call here answers "nothing" at once (short socket timeouts),
and the process leaves Redis alone for PAGE_CACHE_RETRY_SECONDS, so pages are computed as they were before.
No pickle: an entry is JSON plus the zlib-compressed body, so whoever can write to Redis cannot run code here.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from dataclasses import dataclass, field

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

CATALOGUE = "catalogue"
# Sets each tag to the server's time in milliseconds: one clock for every machine.
_BUMP = """
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(KEYS) do redis.call('SET', key, ms, 'EX', ARGV[1]) end
return ms
"""

_client: redis.Redis | None = None
_client_url: str | None = None
_unavailable_until = 0.0


@dataclass
class Entry:
    status: int
    headers: dict[str, str]
    body: bytes
    language: str
    tags: list[str] = field(default_factory=list)
    computed_ms: int = 0  # Redis time before the view ran

    def encode(self) -> bytes:
        meta = {"s": self.status, "h": self.headers, "l": self.language, "t": self.tags, "c": self.computed_ms}
        return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + zlib.compress(self.body, 1)

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        meta, _, body = raw.partition(b"\n")
        data = json.loads(meta)
        return cls(status=data["s"], headers=data["h"], body=zlib.decompress(body), language=data["l"],
                   tags=data["t"], computed_ms=data["c"])


@dataclass
class Lookup:
    """What Redis holds for a key: the entry if any, whether it is still good (fresh and no tag bumped since), and
    the Redis time of the lookup (the `computed_ms` of an entry stored after this request's view)."""

    now_ms: int
    entry: Entry | None = None
    good: bool = False
    asked: int = 1  # times this key was asked for within PAGE_CACHE_FRESH_SECONDS (admission: web.page_cache)

    @property
    def age_s(self) -> int:
        return max(0, (self.now_ms - self.entry.computed_ms) // 1000) if self.entry else 0


def enabled() -> bool:
    return bool(settings.PAGE_CACHE_ENABLED and settings.PAGE_CACHE_URL)


def _redis() -> redis.Redis | None:
    global _client, _client_url
    if not enabled() or time.monotonic() < _unavailable_until:
        return None
    if _client is None or _client_url != settings.PAGE_CACHE_URL:
        timeout = settings.PAGE_CACHE_SOCKET_TIMEOUT
        _client = redis.Redis.from_url(settings.PAGE_CACHE_URL, socket_timeout=timeout,
                                       socket_connect_timeout=timeout, retry_on_timeout=False, retry=None)
        _client_url = settings.PAGE_CACHE_URL
    return _client


def _failed(exc: Exception) -> None:
    """Redis did not answer: leave it alone for a while (each request would otherwise wait its timeout)."""
    global _unavailable_until
    _unavailable_until = time.monotonic() + settings.PAGE_CACHE_RETRY_SECONDS
    logger.warning("page cache unreachable, pages computed without it for %ss: %s: %s",
                   settings.PAGE_CACHE_RETRY_SECONDS, type(exc).__name__, exc)


def reset() -> None:
    """Forget the client and any "unreachable" mark (tests and benchmarks change the settings)."""
    global _client, _client_url, _unavailable_until
    _client, _client_url, _unavailable_until = None, None, 0.0


def reachable() -> bool | None:
    """None when the cache is off; else whether Redis answers a PING now."""
    if not enabled():
        return None
    client = _redis()
    if client is None:
        return False
    try:
        client.ping()
    except redis.RedisError as exc:
        _failed(exc)
        return False
    return True


def _prefix() -> str:
    return settings.PAGE_CACHE_KEY_PREFIX


def page_key(digest: str) -> str:
    return f"{_prefix()}:page:{digest}"


def tag_key(tag: str) -> str:
    return f"{_prefix()}:tag:{tag}"


def entry_lifetime() -> int:
    return settings.PAGE_CACHE_FRESH_SECONDS + settings.PAGE_CACHE_STALE_SECONDS


def lookup(key: str) -> Lookup | None:
    """The entry under `key` and whether it is good; None when Redis is off or unreachable."""
    client = _redis()
    if client is None:
        return None
    try:
        asked_key = f"{key}:asked"
        with client.pipeline(transaction=False) as pipe:
            raw, (seconds, micros), asked, _ = (pipe.get(key).time().incr(asked_key)
                                                .expire(asked_key, settings.PAGE_CACHE_FRESH_SECONDS).execute())
        found = Lookup(now_ms=seconds * 1000 + micros // 1000, asked=asked)
        if raw is None:
            return found
        found.entry = Entry.decode(raw)
        fresh = found.now_ms - found.entry.computed_ms < settings.PAGE_CACHE_FRESH_SECONDS * 1000
        if fresh:
            bumped = client.mget([tag_key(tag) for tag in found.entry.tags]) if found.entry.tags else []
            found.good = all(ms is None or int(ms) < found.entry.computed_ms for ms in bumped)
        return found
    except (redis.RedisError, ValueError, KeyError, zlib.error) as exc:
        _failed(exc)
        return None


def store(key: str, entry: Entry) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.set(key, entry.encode(), ex=entry_lifetime())
    except redis.RedisError as exc:
        _failed(exc)


def bump(tags: set[str] | list[str]) -> bool:
    """Drop every entry showing one of `tags` (they stay for degraded mode, marked no longer good)."""
    client = _redis()
    if client is None or not tags:
        return False
    try:
        # A tag outlives every entry that could carry it: a missing tag means "not bumped since they were made".
        client.register_script(_BUMP)(keys=[tag_key(tag) for tag in sorted(tags)], args=[entry_lifetime() + 60])
    except redis.RedisError as exc:
        _failed(exc)
        return False
    return True


def clear() -> int:
    """Delete every page and tag of this prefix (operators and benchmarks: `manage.py` shell)."""
    client = _redis()
    if client is None:
        return 0
    removed = 0
    for pattern in (f"{_prefix()}:page:*", f"{_prefix()}:tag:*"):  # a page's ":asked" counter included
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            removed += client.delete(*keys)
    return removed
