"""Messages to everyone booked: a host's to one session's proven volunteers, a coordinator's to a seat, a region or
everyone booked on a day; previewed (who and how many, texts' segments and cost), then written to the SMS and email
outboxes (notify.outbox) under notify.consent's gate, with a per-day cap per sender. docs/messaging.md."""

from notify.messaging.audience import Audience  # noqa: F401
from notify.messaging.services import (  # noqa: F401
    Preview,
    message_preview,
    message_send,
)
