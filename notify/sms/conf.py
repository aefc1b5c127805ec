"""SMS settings, read from the environment with safe defaults.

Each value may be overridden in Django settings under the same name (tests use pytest-django's
``settings`` fixture), so lookups go through ``sms_setting`` at call time rather than import time.
"""

from django.conf import settings

from core.env import env_float, env_int, env_str, env_time
from notify.conf import REMINDER_DEFAULTS

DEFAULTS = {
    **REMINDER_DEFAULTS,  # the texts' reminder times and quiet hours, which the emails' follow (notify.conf)
    # Messages per second per sender, shared by every worker through Redis. 0 switches the limit off.
    "SMS_RATE_PER_SECOND": env_float("SMS_RATE_PER_SECOND", 10.0),
    # Local time from which hosts who chose the daily digest by text are texted the day before's news.
    "SMS_HOST_DIGEST_AT": env_time("SMS_HOST_DIGEST_AT", "09:00"),
    # Day-before reminders are spread across this window (local time) on the day before the slot, at the sender's
    # capacity; one that cannot leave by its end (or by the start of quiet hours) is dropped, never sent late.
    # A window that starts where it ends is off: reminders go as soon as they are written.
    "SMS_REMINDER_WINDOW_START": env_time("SMS_REMINDER_WINDOW_START", "17:00"),
    "SMS_REMINDER_WINDOW_END": env_time("SMS_REMINDER_WINDOW_END", "20:00"),
    # Texts a second the sender can take (a UK long code: about 10; a Messaging Service: its pool's sum). The
    # reminder plan uses this, or the rate measured at the last backlog if that was lower.
    "SMS_SENDER_CAPACITY_PER_SECOND": env_float("SMS_SENDER_CAPACITY_PER_SECOND", 10.0),
    # Twilio's ValidityPeriod for a text with no latest useful time of its own (reminders and codes have one):
    # it is dropped by Twilio rather than delivered after this long in its queue (Twilio's default is 10 hours).
    "SMS_VALIDITY_SECONDS": env_int("SMS_VALIDITY_SECONDS", 14400),
    "SMS_MAX_ATTEMPTS": env_int("SMS_MAX_ATTEMPTS", 8),
    "SMS_RETRY_BASE_SECONDS": env_float("SMS_RETRY_BASE_SECONDS", 15.0),
    "SMS_RETRY_MAX_SECONDS": env_float("SMS_RETRY_MAX_SECONDS", 1800.0),
    # A send still marked "sending" after this long belonged to a worker that died.
    "SMS_SENDING_STALE_SECONDS": env_float("SMS_SENDING_STALE_SECONDS", 120.0),
    # Public scheme://host[:port] Twilio uses to reach /twilio/... (signatures are computed over it).
    "SMS_WEBHOOK_BASE_URL": env_str("SMS_WEBHOOK_BASE_URL"),
}


def sms_setting(name: str):
    value = getattr(settings, name, None)
    if value is None:
        value = DEFAULTS[name]
    if name == "SMS_WEBHOOK_BASE_URL" and not value:
        value = settings.PUBLIC_BASE_URL
    return value
