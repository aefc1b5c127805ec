"""What every channel's messages to many people share: quiet hours (SMS_QUIET_HOURS_START-_END, local time, named for
the texts, which had them first) and a send rate shared by every worker through Redis. Each caller reserves the next
free send time of a key in one atomic Lua call (a virtual scheduling / GCRA clock), then sleeps until it; Celery's
own ``rate_limit`` is per worker, this is global."""

import time
from datetime import datetime, timedelta
from functools import cache

import redis
from django.conf import settings
from django.utils import timezone

from notify.conf import notify_setting

# KEYS[1]: the key's clock. ARGV[1]: interval between sends in microseconds.
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
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _script(url: str):
    return redis_client(url).register_script(_RESERVE)


def slot_reserve(*, key: str, per_second: float) -> float:
    """Reserve the next send time of `key` at `per_second`; the seconds to wait for it (0 or no Redis: no limit)."""
    if per_second <= 0 or not settings.REDIS_URL:
        return 0.0
    interval_us = max(1, int(1_000_000 / per_second))
    return max(0, _script(settings.REDIS_URL)(keys=[key], args=[interval_us])) / 1_000_000


def slot_wait(*, key: str, per_second: float) -> None:
    """Block until this caller may send one message of `key` at `per_second`."""
    wait = slot_reserve(key=key, per_second=per_second)
    if wait > 0:
        time.sleep(wait)


def in_quiet_hours(moment: datetime | None = None) -> bool:
    local = timezone.localtime(moment or timezone.now()).time()
    start, end = notify_setting("SMS_QUIET_HOURS_START"), notify_setting("SMS_QUIET_HOURS_END")
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(moment: datetime) -> datetime:
    """The first SMS_QUIET_HOURS_END (local time) after `moment`."""
    ends, day = notify_setting("SMS_QUIET_HOURS_END"), timezone.localtime(moment).date()
    end = timezone.make_aware(datetime.combine(day, ends))
    return end if end > moment else timezone.make_aware(datetime.combine(day + timedelta(days=1), ends))
