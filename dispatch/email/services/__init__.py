"""Email services: the outbox and its sends, reminders, hosts' notices and digests, unsubscribing."""

from dispatch.email.services.hosts import (  # noqa: F401
    host_digests_enqueue,
    host_email_preference_get,
    host_email_preference_set,
)
from dispatch.email.services.outbox import (  # noqa: F401
    message_enqueue,
    message_retry,
    message_send,
    messages_erase_for_volunteer,
    messages_record_for_email_proof,
    messages_record_for_event,
    messages_record_for_events,
    messages_record_for_proof,
    messages_requeue_stuck,
    volunteer_emailable,
)
from dispatch.email.services.reminders import reminders_enqueue_due  # noqa: F401
from dispatch.email.services.unsubscribe import email_unsubscribe  # noqa: F401
