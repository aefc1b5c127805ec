from django.apps import AppConfig


class NotifyConfig(AppConfig):
    """Everything that tells people things: one outbox (notify.outbox), a channel per sub-app (notify.sms,
    notify.email, notify.webhooks: their labels and tables are those of the apps they were in dispatch)."""

    name = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        import notify.email.services.outbox
        import notify.sms.services.outbox
        import notify.webhooks.services.outbox  # noqa: F401 - each registers its channel (notify.registry)
        from core.metrics import state_reader_register
        from notify.metrics import sms_outbox_gauges
        from notify.wiring import signals_connect

        signals_connect()
        state_reader_register(sms_outbox_gauges)
