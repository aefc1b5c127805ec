"""core.ratelimit: fixed windows in the shared Redis, counted atomically across processes, failing open and fast."""

import json
import logging
import os
import socket
import subprocess
import sys
import threading

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

import core.ratelimit
from core.env import parse_rates
from core.errors import RateLimited
from core.ratelimit import client_ip, ip_key, rate_limit
from tests.conftest import RATE_LIMIT_NOW, REPO_ROOT

pytestmark = pytest.mark.usefixtures("ratelimit_clock")


@pytest.fixture
def limits(settings):
    """Set scopes for one test: limits(login_ip="3/h")."""

    def set_limits(**scopes):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **scopes}

    return set_limits


def hits_until_refused(scope: str, key: str, at_most: int = 100) -> int:
    for count in range(at_most):
        try:
            rate_limit(scope=scope, key=key)
        except RateLimited:
            return count
    return at_most


def test_the_hit_past_the_count_is_refused_with_the_seconds_left_in_the_window(limits, monkeypatch):
    limits(login_ip="3/h")
    monkeypatch.setattr(core.ratelimit, "_now", lambda: 7200 + 600)  # ten minutes into an hour window
    for _ in range(3):
        rate_limit(scope="login_ip", key="198.51.100.1")
    with pytest.raises(RateLimited) as refused:
        rate_limit(scope="login_ip", key="198.51.100.1")
    assert refused.value.status_code == 429 and refused.value.code == "rate_limited"
    assert refused.value.retry_after == 3000


def test_each_key_and_scope_counts_apart(limits):
    limits(login_ip="2/h", host_signup_ip="2/h")
    assert hits_until_refused("login_ip", "198.51.100.1") == 2
    assert hits_until_refused("login_ip", "198.51.100.2") == 2
    assert hits_until_refused("host_signup_ip", "198.51.100.1") == 2


def test_the_count_starts_again_in_the_next_window(limits, monkeypatch):
    limits(login_ip="2/m")
    monkeypatch.setattr(core.ratelimit, "_now", lambda: 6000)
    assert hits_until_refused("login_ip", "198.51.100.1") == 2
    monkeypatch.setattr(core.ratelimit, "_now", lambda: 6060)
    assert hits_until_refused("login_ip", "198.51.100.1") == 2


def test_several_windows_are_all_enforced_and_retry_after_is_the_longest_wait(limits, monkeypatch):
    limits(booking_ip="3/m,5/h")
    monkeypatch.setattr(core.ratelimit, "_now", lambda: 3600)
    assert hits_until_refused("booking_ip", "198.51.100.1") == 3
    monkeypatch.setattr(core.ratelimit, "_now", lambda: 3660)  # a new minute, the same hour
    assert hits_until_refused("booking_ip", "198.51.100.1") == 1  # 3 + 1 refused + 1 = the 5th in the hour
    with pytest.raises(RateLimited) as refused:
        rate_limit(scope="booking_ip", key="198.51.100.1")
    assert refused.value.retry_after == 3540  # what is left of the hour, not of the minute


def test_switched_off_globally_or_per_scope_nothing_is_counted(limits, settings):
    limits(login_ip="off", host_signup_ip="1/h")
    assert hits_until_refused("login_ip", "198.51.100.1", at_most=50) == 50
    settings.RATE_LIMITS_ENABLED = False
    assert hits_until_refused("host_signup_ip", "198.51.100.1", at_most=50) == 50


def test_zero_refuses_everything(limits):
    limits(host_signup_ip="0/h")
    assert hits_until_refused("host_signup_ip", "198.51.100.1") == 0


def test_an_unknown_scope_is_a_configuration_error_not_a_silent_pass():
    with pytest.raises(ImproperlyConfigured):
        rate_limit(scope="bookign_ip", key="198.51.100.1")


@pytest.mark.parametrize("raw", ["10", "ten/h", "10/w", "10/h,", "-1/h", "10/0m"])
def test_a_malformed_rate_is_refused_at_start_up(raw):
    with pytest.raises(ImproperlyConfigured):
        parse_rates(raw)


@pytest.mark.server  # a child process
def test_a_malformed_rate_in_the_environment_stops_the_settings_from_loading():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=REPO_ROOT, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "RATE_LIMIT_BOOKING_IP": "lots"}, timeout=60)
    assert result.returncode != 0 and "RATE_LIMIT_BOOKING_IP" in result.stderr


def test_rates_parse():
    assert parse_rates("30/h,100/d") == ((30, 3600), (100, 86400))
    assert parse_rates("100/5m") == ((100, 300),)
    assert parse_rates("off") == ()


# --- Shared across processes -----------------------------------------------------------------------


_HITS_SCRIPT = """
import json, sys
import django
django.setup()
import core.ratelimit
from core.errors import RateLimited
from core.ratelimit import rate_limit
core.ratelimit._now = lambda: int(sys.argv[2])  # the parent's pinned clock: one window for all
sys.stdin.readline()  # start together
allowed = 0
for _ in range(int(sys.argv[1])):
    try:
        rate_limit(scope="login_ip", key="198.51.100.77")
        allowed += 1
    except RateLimited:
        pass
print(json.dumps(allowed))
"""


def _hitters(count: int, hits: int) -> list[subprocess.Popen]:
    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": settings.REDIS_URL,
           "RATE_LIMIT_LOGIN_IP": settings.RATE_LIMITS["login_ip"], "LOG_LEVEL": "WARNING"}
    return [subprocess.Popen([sys.executable, "-c", _HITS_SCRIPT, str(hits), str(RATE_LIMIT_NOW)], cwd=REPO_ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(count)]


@pytest.mark.server  # a child process
def test_two_processes_hitting_at_once_share_one_count(limits):
    limits(login_ip="25/h")
    processes = _hitters(2, 20)
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    allowed = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    assert sum(allowed) == 25  # 40 tries, exactly the limit let through: no count lost, none doubled
    with pytest.raises(RateLimited):  # and this process sees the same count
        rate_limit(scope="login_ip", key="198.51.100.77")


def test_counters_in_redis_are_hashed_and_expire(limits, settings):
    limits(login_ip="25/h")
    rate_limit(scope="login_ip", key="198.51.100.77")
    client = redis.Redis.from_url(settings.REDIS_URL)  # a second connection, as another machine would have
    keys = [key.decode() for key in client.keys("*rl:login_ip:*")]
    assert len(keys) == 1 and "198.51.100.77" not in keys[0]
    assert client.get(keys[0]) == b"1"
    assert 0 < client.ttl(keys[0]) <= 3601


def _counted(settings, scope: str, key: str) -> list[int]:
    """The counts of `scope` for `key`, one per window."""
    named = core.ratelimit._cache_key(scope, key, 0, 0).rsplit(":", 2)[0]  # rl:<scope>:<keyed hash of key>
    client = redis.Redis.from_url(settings.REDIS_URL)
    return sorted(int(client.get(found)) for found in client.keys(f"*{named}:*"))


def test_several_scopes_in_one_round_trip_count_as_one_call_each_in_turn(limits, settings, monkeypatch):
    limits(code_send_phone="2/h", sms_phone_day="3/h,5/d", booking_phone="10/h")
    calls = []
    original = core.ratelimit._count_hits
    monkeypatch.setattr(core.ratelimit, "_count_hits", lambda cache, keys: calls.append(keys) or original(cache, keys))
    scopes = [("booking_phone", "+447400111222", None, None),
              ("code_send_phone", "+447400111222", "Too many codes.", {"phone": ["Too many codes."]}),
              ("sms_phone_day", "+447400111222", "Too many texts.", None)]
    core.ratelimit.rate_limits(scopes)
    core.ratelimit.rate_limits(scopes)
    assert len(calls) == 2  # one round trip each
    assert [_counted(settings, scope, "+447400111222") for scope, *_ in scopes] == [[2], [2], [2, 2]]
    # The third: code_send_phone is over, so it raises its own message and fields, and sms_phone_day (after it)
    # counts nothing, as when the first RateLimited of three rate_limit calls stops the caller.
    with pytest.raises(RateLimited) as refused:
        core.ratelimit.rate_limits(scopes)
    assert str(refused.value.message) == "Too many codes." and refused.value.fields == {"phone": ["Too many codes."]}
    assert [_counted(settings, scope, "+447400111222") for scope, *_ in scopes] == [[3], [3], [2, 2]]


def test_several_scopes_skip_the_ones_switched_off_and_stop_at_the_first_over(limits, settings):
    limits(booking_phone="0/h", code_send_phone="off", sms_phone_day="5/d")
    with pytest.raises(RateLimited):
        core.ratelimit.rate_limits([("booking_phone", "+447400111333", None, None),
                                    ("code_send_phone", "+447400111333", None, None),
                                    ("sms_phone_day", "+447400111333", None, None)])
    assert [_counted(settings, scope, "+447400111333")
            for scope in ("booking_phone", "code_send_phone", "sms_phone_day")] == [[1], [], []]


# --- Redis unreachable: fail open, fast ------------------------------------------------------------


class SilentServer:
    """A TCP server that accepts connections and never answers: a hung Redis."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self):
        for connection in self.accepted:
            connection.close()
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _point_limits_at(settings, url: str) -> None:
    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}}}


def test_with_redis_refusing_connections_every_hit_passes_and_a_warning_is_logged(limits, settings, caplog):
    limits(login_ip="1/h")
    _point_limits_at(settings, f"redis://127.0.0.1:{_closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        for _ in range(3):
            rate_limit(scope="login_ip", key="198.51.100.1")
    assert "Rate limits are not enforced" in caplog.text


def test_with_redis_hung_one_hit_waits_for_the_timeout_and_the_next_ones_skip_it(limits, settings, caplog):
    limits(login_ip="1/h")
    server = SilentServer()
    try:
        _point_limits_at(settings, f"redis://127.0.0.1:{server.port}/0")
        with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
            rate_limit(scope="login_ip", key="198.51.100.1")
        assert len(server.accepted) == 1 and "TimeoutError" in caplog.text
        for _ in range(20):  # within RATE_LIMIT_CACHE_RETRY_SECONDS: not one more connection, so no more waiting
            rate_limit(scope="login_ip", key="198.51.100.1")
        assert len(server.accepted) == 1
        core.ratelimit._cache_unavailable_until = 1.0  # the retry time has passed: the next hit tries Redis again
        rate_limit(scope="login_ip", key="198.51.100.1")
        assert len(server.accepted) == 2
    finally:
        server.close()


def test_with_redis_back_counting_resumes(limits, settings):
    limits(login_ip="1/h")
    core.ratelimit._cache_unavailable_until = 1.0  # was down, retry time passed
    rate_limit(scope="login_ip", key="198.51.100.1")
    with pytest.raises(RateLimited):
        rate_limit(scope="login_ip", key="198.51.100.1")
    assert core.ratelimit._cache_unavailable_until == 0.0


# --- Client address --------------------------------------------------------------------------------


def _request(remote="203.0.113.10", **headers):
    return RequestFactory().post("/", REMOTE_ADDR=remote, **headers)


def test_forwarded_headers_are_ignored_unless_configured(settings):
    settings.TRUSTED_PROXY_IP_HEADER = ""
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="198.51.100.9", HTTP_X_REAL_IP="198.51.100.9")) == "203.0.113.10"


def test_the_trusted_header_gives_the_hop_our_proxy_appended(settings):
    settings.TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.9")) == "198.51.100.9"
    settings.TRUSTED_PROXY_COUNT = 2  # a load balancer, then our nginx
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.9, 192.0.2.1")) == "198.51.100.9"
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(_request(HTTP_X_REAL_IP="198.51.100.8:4431")) == "198.51.100.8"


def test_a_garbage_or_missing_trusted_header_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="<script>")) == "203.0.113.10"
    assert client_ip(_request()) == "203.0.113.10"


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4():
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("::ffff:198.51.100.4") == "198.51.100.4"
    assert ip_key("198.51.100.4") == "198.51.100.4"


def test_ip_scopes_count_ipv6_clients_by_network_whoever_passes_the_raw_address(limits):
    limits(password_reset_ip="2/h")
    rate_limit(scope="password_reset_ip", key="2001:db8:5:6::1")
    rate_limit(scope="password_reset_ip", key="2001:db8:5:6::2")
    with pytest.raises(RateLimited):
        rate_limit(scope="password_reset_ip", key="2001:db8:5:6:7::3")
    rate_limit(scope="password_reset_ip", key="2001:db8:5:7::1")  # the next /64 is someone else


def test_rate_limit_once_counts_a_named_hit_once_and_repeats_its_answer(limits):
    from core.ratelimit import rate_limit_once

    limits(sms_phone_day="2/d")
    rate_limit_once(scope="sms_phone_day", key="+447400111222", hit="sms:1")
    for _ in range(3):  # the same row retried: counted once, allowed each time
        rate_limit_once(scope="sms_phone_day", key="+447400111222", hit="sms:1")
    rate_limit_once(scope="sms_phone_day", key="+447400111222", hit="sms:2")
    for _ in range(2):  # the third row is over, and stays refused when retried, counting nothing more
        with pytest.raises(RateLimited):
            rate_limit_once(scope="sms_phone_day", key="+447400111222", hit="sms:3")
    with pytest.raises(RateLimited):
        rate_limit(scope="sms_phone_day", key="+447400111222")  # 3 counted before this 4th: rows 1, 2, 3
    assert hits_until_refused("sms_phone_day", "+447400111333") == 2  # another number: its own count


def test_the_64s_of_one_48_share_an_allowance_of_a_few_clients_not_65536(limits, settings):
    assert settings.RATE_LIMIT_IPV6_AGGREGATE_PREFIX == 48 and settings.RATE_LIMIT_IPV6_AGGREGATE_FACTOR == 4
    limits(booking_ip="3/h")
    # Each hit from a fresh /64 of 2001:db8:7::/48: per /64 it is the first, yet the /48 has its 4 x 3.
    for n in range(12):
        rate_limit(scope="booking_ip", key=f"2001:db8:7:{n:x}::1")
    with pytest.raises(RateLimited) as refused:
        rate_limit(scope="booking_ip", key="2001:db8:7:ff::1")
    assert refused.value.retry_after == 3000
    rate_limit(scope="booking_ip", key="2001:db8:8::1")  # the next /48 is someone else
    assert hits_until_refused("booking_ip", "2001:db8:8:1::1") == 3  # and one /64 still gets the per-client count


def test_ipv4_clients_have_no_aggregate(limits):
    limits(booking_ip="3/h")
    for n in range(12):  # IPv4 addresses are scarce: 12 addresses of one /24 are 12 clients
        assert hits_until_refused("booking_ip", f"198.51.100.{n}") == 3
    assert core.ratelimit.ip_aggregate_key("::ffff:198.51.100.4") is None
    assert core.ratelimit.ip_aggregate_key("2001:db8:1:2::9") == "2001:db8:1::"
