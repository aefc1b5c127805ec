"""Errors to Sentry when SENTRY_DSN is set, without personal data: no PII, and phone numbers scrubbed.

``send_default_pii`` stays off (no cookies, user, IP address or request bodies sent by the SDK itself), and
``before_send`` / ``before_breadcrumb`` replace anything shaped like a phone number, and the values of fields
named like one (phone, to, from, body: Twilio's webhooks), and the tokens of private links (/b/<token>...),
wherever they appear in the event: messages, exception values, local variables, breadcrumbs, request data.
"""

from __future__ import annotations

import re

from core.logs import redact_private_links

# A UK mobile in any common spelling, or any international number: 9 to 15 digits, with separators, inside other
# text too ("%2B447400123456" in a query string). It catches other long numbers as well: better too much than a phone.
PHONE = re.compile(r"(?<!\d)(?:\+|00)?\(?\d(?:[\s().-]{0,2}\d){8,14}(?!\d)")
SENSITIVE_KEYS = {"phone", "to", "from", "body", "phone_number", "mobile", "code", "password", "token",
                  "authorization", "cookie", "x-twilio-signature"}
REPLACEMENT = "[Filtered]"


def scrub(value, depth: int = 0):
    if depth > 20:
        return value
    if isinstance(value, str):
        return redact_private_links(PHONE.sub(REPLACEMENT, value))  # the request's URL is often a private link
    if isinstance(value, dict):
        return {key: (REPLACEMENT if isinstance(key, str) and key.lower() in SENSITIVE_KEYS and value[key]
                      else scrub(value[key], depth + 1)) for key in value}
    if isinstance(value, list):
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(scrub(item, depth + 1) for item in value)
    return value


def before_send(event, hint):
    return scrub(event)


def before_breadcrumb(crumb, hint):
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn, environment=environment, release=release, send_default_pii=False,
        traces_sample_rate=traces_sample_rate, before_send=before_send, before_breadcrumb=before_breadcrumb,
        integrations=[DjangoIntegration(), CeleryIntegration()], max_request_body_size="never",
    )
