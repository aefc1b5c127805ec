"""Webhook settings, read from the environment with safe defaults.

As with notify.sms.conf, a Django setting of the same name wins (tests use pytest-django's ``settings``
fixture), so values are looked up at call time through ``webhook_setting``.
"""

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_float, env_int, env_list


def _networks(name: str, raw: list[str]) -> tuple:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be comma-separated IP networks (e.g. 10.0.0.0/8), got {raw!r}") from exc


DEFAULTS = {
    # Plain http:// endpoints; otherwise https is required (DEBUG allows http too).
    "WEBHOOK_ALLOW_HTTP": env_bool("WEBHOOK_ALLOW_HTTP", False),
    # Networks an endpoint may resolve to although they are not public (loopback, private, link-local...):
    # e.g. "127.0.0.1/32" in the tests, or the CRM's private subnet. Empty: public addresses only.
    "WEBHOOK_ALLOWED_NETWORKS": _networks("WEBHOOK_ALLOWED_NETWORKS", env_list("WEBHOOK_ALLOWED_NETWORKS", [])),
    "WEBHOOK_CONNECT_TIMEOUT": env_float("WEBHOOK_CONNECT_TIMEOUT", 3.0),
    "WEBHOOK_READ_TIMEOUT": env_float("WEBHOOK_READ_TIMEOUT", 10.0),
    "WEBHOOK_MAX_ATTEMPTS": env_int("WEBHOOK_MAX_ATTEMPTS", 12),
    "WEBHOOK_RETRY_BASE_SECONDS": env_float("WEBHOOK_RETRY_BASE_SECONDS", 10.0),
    "WEBHOOK_RETRY_MAX_SECONDS": env_float("WEBHOOK_RETRY_MAX_SECONDS", 1800.0),
    # Failed attempts in a row (any delivery) after which an endpoint is disabled until a coordinator enables it.
    "WEBHOOK_DISABLE_AFTER_FAILURES": env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 50),
    # A delivery still "delivering" after this long belonged to a worker that died: the sweep hands it on.
    "WEBHOOK_DELIVERING_STALE_SECONDS": env_float("WEBHOOK_DELIVERING_STALE_SECONDS", 120.0),
}


def webhook_setting(name: str):
    value = getattr(settings, name, None)
    if value is None:
        value = DEFAULTS[name]
    if name == "WEBHOOK_ALLOW_HTTP":
        value = bool(value) or settings.DEBUG
    if name == "WEBHOOK_ALLOWED_NETWORKS" and value and isinstance(value[0], str):
        value = _networks(name, list(value))
    return value
