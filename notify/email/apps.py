from django.apps import AppConfig


class EmailConfig(AppConfig):
    """Email, an outbox channel (notify.outbox) with its hand-over mark. Its receivers are wired in notify.wiring.
    The label and tables are those it had as dispatch.email."""

    name = "notify.email"
    label = "email"
    verbose_name = "Email"
