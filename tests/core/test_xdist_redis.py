"""`make test-fast`'s processes each count in a Redis database of their own (tests/xdist_redis.py)."""

from tests.xdist_redis import _redis_for


def test_each_process_gets_its_own_database_below_the_configured_one():
    url = "redis://127.0.0.1:6379/15"
    assert [_redis_for(url, f"gw{n}") for n in range(4)] == [
        "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/13",
        "redis://127.0.0.1:6379/12"]


def test_below_database_0_it_wraps_to_the_top_of_redis_16():
    assert _redis_for("redis://127.0.0.1:6379/1", "gw2") == "redis://127.0.0.1:6379/15"
    assert _redis_for("redis://127.0.0.1:6379", "gw1") == "redis://127.0.0.1:6379/15"
