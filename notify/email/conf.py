"""Email outbox settings, read from the environment with safe defaults (the transport itself is Django's
EMAIL_BACKEND and EMAIL_* settings, config/settings.py). Each may be overridden in Django settings under the same
name, so lookups go through ``email_setting`` at call time (tests use pytest-django's ``settings``)."""

from django.conf import settings

from core.env import env_float, env_int, env_time

DEFAULTS = {
    "EMAIL_MAX_ATTEMPTS": env_int("EMAIL_MAX_ATTEMPTS", 8),
    "EMAIL_RETRY_BASE_SECONDS": env_float("EMAIL_RETRY_BASE_SECONDS", 30.0),
    "EMAIL_RETRY_MAX_SECONDS": env_float("EMAIL_RETRY_MAX_SECONDS", 3600.0),
    # A send still marked "sending" after this long belonged to a worker that died (above every task's limit).
    "EMAIL_SENDING_STALE_SECONDS": env_float("EMAIL_SENDING_STALE_SECONDS", 120.0),
    # Local time from which hosts who chose the daily digest get the day before's bookings and cancellations.
    "EMAIL_HOST_DIGEST_AT": env_time("EMAIL_HOST_DIGEST_AT", "07:00"),
    # Emails of a message to everyone booked (notify.messaging) a second, shared by every worker through Redis
    # (notify.pacing): a mail provider's sending limit, and mail servers that mark a sudden burst as spam. 0: none.
    "EMAIL_BROADCAST_RATE_PER_SECOND": env_float("EMAIL_BROADCAST_RATE_PER_SECOND", 5.0),
}


def email_setting(name: str):
    value = getattr(settings, name, None)
    return DEFAULTS[name] if value is None else value
