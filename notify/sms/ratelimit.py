"""The texts' send rate per sender, shared by every worker through Redis (notify.pacing's clock)."""

from notify.pacing import redis_client as _client  # noqa: F401 - bench/broadcast.py reads the clock through it
from notify.pacing import slot_wait


def send_slot_wait(*, sender: str, per_second: float) -> None:
    """Block until this caller may send one message for `sender` at `per_second` (0 or no Redis: no limit)."""
    slot_wait(key=f"sms:rate:{sender}", per_second=per_second)
