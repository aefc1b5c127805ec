"""Settings every channel shares, read from the environment with safe defaults; a Django setting of the same name
overrides each (tests use pytest-django's ``settings`` fixture), so lookups go through ``notify_setting`` at call
time. The names keep their SMS_ prefix: the texts had reminders first, and the emails follow the same times."""

from django.conf import settings

from core.env import env_int, env_time

REMINDER_DEFAULTS = {
    "SMS_REMINDER_DAY_BEFORE_AT": env_time("SMS_REMINDER_DAY_BEFORE_AT", "11:00"),
    "SMS_REMINDER_SOON_MINUTES": env_int("SMS_REMINDER_SOON_MINUTES", 30),
    # No reminder, host's text or message to everyone booked (text or email) goes in this window (notify.pacing).
    "SMS_QUIET_HOURS_START": env_time("SMS_QUIET_HOURS_START", "21:00"),
    "SMS_QUIET_HOURS_END": env_time("SMS_QUIET_HOURS_END", "09:00"),
}


def notify_setting(name: str):
    value = getattr(settings, name, None)
    return REMINDER_DEFAULTS[name] if value is None else value
