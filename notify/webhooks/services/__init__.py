"""Webhook services: endpoints (registered by coordinators) and the delivery outbox."""

from notify.webhooks.services.endpoints import (  # noqa: F401
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_secret_rotate,
    endpoint_update,
)
from notify.webhooks.services.outbox import (  # noqa: F401
    deliveries_erase_for_volunteer,
    deliveries_export_for_volunteer,
    deliveries_record_for_event,
    deliveries_record_for_events,
    deliveries_record_for_proof,
    deliveries_requeue_stuck,
    delivery_enqueue,
    delivery_redeliver,
    delivery_send,
)
