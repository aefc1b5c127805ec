"""SMS services: the outbox and its sends, replies, reminders, texts to hosts."""

from notify.sms.services.campaign import come_again_record, come_again_record_for_event  # noqa: F401
from notify.sms.services.followups import follow_ups_enqueue_due  # noqa: F401
from notify.sms.services.host_digests import host_text_digests_enqueue  # noqa: F401
from notify.sms.services.host_mobile import (  # noqa: F401
    host_mobile_code_resend,
    host_mobile_verify,
)
from notify.sms.services.hosts import (  # noqa: F401
    host_sms_preference_get,
    host_sms_preference_set,
    host_text_record_for_event,
    host_text_record_for_proof,
    host_texts_record_for_events,
)
from notify.sms.services.outbox import (  # noqa: F401
    challenge_message_record,
    message_enqueue,
    message_record,
    message_record_for_event,
    message_retry,
    messages_record_for_events,
    messages_requeue_stuck,
    volunteer_skip_reason,
)
from notify.sms.services.reminders import reminders_enqueue_due  # noqa: F401
from notify.sms.services.replies import inbound_handle, keyword_normalise  # noqa: F401
from notify.sms.services.sending import in_quiet_hours, message_send, message_status_record  # noqa: F401
from notify.sms.services.webhooks import inbound_receive, status_receive  # noqa: F401
