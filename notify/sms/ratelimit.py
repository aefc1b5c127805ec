"""A send rate per sender shared by every worker through Redis.

Celery's own ``rate_limit`` is per worker; this is global. Each caller reserves the next free
send time in one atomic Lua call (a virtual scheduling / GCRA clock), then sleeps until it.
"""

import time
from functools import cache

import redis
from django.conf import settings

# KEYS[1]: the sender's clock. ARGV[1]: interval between sends in microseconds.
# Returns how many microseconds the caller must wait before its reserved send time.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_free < now then next_free = now end
redis.call('SET', KEYS[1], next_free + interval, 'PX', math.ceil((next_free + interval - now) / 1000) + 1000)
return next_free - now
"""


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _script(url: str):
    return _client(url).register_script(_RESERVE)


def send_slot_wait(*, sender: str, per_second: float) -> None:
    """Block until this caller may send one message for `sender` at `per_second` (0 or no Redis: no limit)."""
    if per_second <= 0 or not settings.REDIS_URL:
        return
    interval_us = max(1, int(1_000_000 / per_second))
    wait_us = _script(settings.REDIS_URL)(keys=[f"sms:rate:{sender}"], args=[interval_us])
    if wait_us > 0:
        time.sleep(wait_us / 1_000_000)
