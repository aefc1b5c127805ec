from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks, an outbox channel (notify.outbox) with a delivery per endpoint. Its receivers are wired in
    notify.wiring. The label and tables are those it had as dispatch.webhooks."""

    name = "notify.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
