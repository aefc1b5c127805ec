"""The channels: each adapter registers its Outbox when its module is imported (NotifyConfig.ready imports them
all, so this module imports no channel and the channels stay independent of each other)."""

from __future__ import annotations

from notify.outbox import Outbox

_CHANNELS: dict[str, Outbox] = {}


def channel_register(outbox: Outbox) -> Outbox:
    """Add a channel; registering the same name again replaces it (a module reloaded in a test)."""
    _CHANNELS[outbox.name] = outbox
    return outbox


def channel_get(name: str) -> Outbox:
    """The channel of that name; KeyError for an unknown one (a task from a newer release, say)."""
    return _CHANNELS[name]


# The order every channel is told of a change in (as when each was its own app: SMS, webhooks, email).
ORDER = ("sms", "webhooks", "email")


def channels() -> list[Outbox]:
    """Every channel, SMS, webhooks and email first, then any other in the order it registered."""
    rank = {name: index for index, name in enumerate(ORDER)}
    return sorted(_CHANNELS.values(), key=lambda outbox: rank.get(outbox.name, len(ORDER)))

