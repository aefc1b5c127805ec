"""Structured logs: every line carries the id of the request (or of the request that enqueued the task).

RequestIdMiddleware sets ``request_id`` for the request (the proxy's X-Request-ID when REQUEST_ID_TRUSTED,
else a new one) and returns it in the X-Request-ID response header; Celery carries it in a message header to
the tasks a request enqueues (celery_app). RequestIdFilter puts it on every log record, and JsonFormatter
writes one JSON object per line when LOG_FORMAT=json.

No line carries a private link's token (``redact_private_links``): a path such as /b/<token> is a key to a
booking, and logs are read by more people, and kept longer, than the links' holders would expect.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # what a proxy sends; anything else could forge log lines


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    return value if value and _VALID.match(value) else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# Paths whose next segment is a bearer token: bookings (/b/, /api/bookings/), code challenges (/check/,
# /api/challenges/), dispatch sign-ups (/n/, /api/volunteers/), unsubscribe links, calendar feeds and password resets. Any text passes
# through, so a full URL, a quoted repr of a request or a traceback loses its token too.
_PRIVATE_LINK = re.compile(
    r"(/(?:b|n|check|api/bookings|api/challenges|api/volunteers|email/unsubscribe|feeds/[a-z]+|host/reset/[\w-]+)/)"
    r"[A-Za-z0-9_.:=-]{8,}")  # signed tokens (unsubscribe) hold "." and ":"; a feed's ".ics" goes with its token
REDACTED = "[redacted]"


def redact_private_links(text: str) -> str:
    """`text` with the token of every private link in it replaced: /b/[redacted]."""
    return _PRIVATE_LINK.sub(rf"\1{REDACTED}", text) if "/" in text else text


class PrivateLinkSafeRecord(logging.LogRecord):
    """Every log record (installed as the record factory by core.apps): its message without private links'
    tokens, whichever handler reads it (console, gunicorn's, Celery's, pytest's, Sentry's). A record logged with
    ``extra={"private_links": True}`` keeps them: only the console SMS backend's lines, which are the texts
    themselves standing in for a phone (``make run``), never used in production."""

    def getMessage(self) -> str:
        message = super().getMessage()
        if getattr(self, "private_links", False):
            return message
        if self.exc_info and not self.exc_text:
            # Formatters call getMessage() first, then use exc_text when it is set: fill it in, redacted, so a
            # traceback ("ValueError: bad link /b/...") loses its tokens in every handler too.
            self.exc_text = redact_private_links(_TRACEBACKS.formatException(self.exc_info))
        return redact_private_links(message)


_TRACEBACKS = logging.Formatter()


def private_link_redaction_install() -> None:
    """Make every record a PrivateLinkSafeRecord, unless something else already owns the record factory (then the
    formatters below still redact what they write)."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(PrivateLinkSafeRecord)


class PlainFormatter(logging.Formatter):
    """LOG_FORMAT=plain, with the tokens of private links also redacted from `extra` reprs and tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if getattr(record, "private_links", False) else redact_private_links(text)


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id", "private_links"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, any `extra` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        # `extra` values (Django's "request": <WSGIRequest: GET '/b/...'>) and tracebacks can hold a link too.
        return text if getattr(record, "private_links", False) else redact_private_links(text)


_META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class RequestIdMiddleware:
    """First in MIDDLEWARE: the request's id for every log line written while it is handled, and its header.

    The id stays set until Django's request_finished signal, not just until this middleware returns: Django
    logs a 4xx or 5xx answer ("Not Found: /x") after the middleware chain, and that line needs the id too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        incoming = valid_request_id(request.META.get(_META_KEY)) if settings.REQUEST_ID_TRUSTED else None
        rid = incoming or new_request_id()
        request.request_id = rid
        request_id.set(rid)
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def request_id_clear(**kwargs) -> None:
    """request_finished receiver (core.apps): lines logged between requests carry no request's id."""
    request_id.set("-")
