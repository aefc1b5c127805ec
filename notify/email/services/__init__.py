"""Email services: the outbox and its sends, reminders, hosts' notices and digests, unsubscribing."""

from notify.email.services.followups import follow_ups_enqueue_due  # noqa: F401
from notify.email.services.hosts import (  # noqa: F401
    host_digests_enqueue,
    host_email_preference_get,
    host_email_preference_set,
)
from notify.email.services.outbox import (  # noqa: F401
    message_enqueue,
    message_retry,
    messages_erase_for_volunteer,
    messages_record_for_email_proof,
    messages_record_for_event,
    messages_record_for_events,
    messages_record_for_proof,
    messages_requeue_stuck,
    volunteer_emailable,
)
from notify.email.services.reminders import reminders_enqueue_due  # noqa: F401
from notify.email.services.sending import message_send  # noqa: F401
from notify.email.services.unsubscribe import email_unsubscribe  # noqa: F401
