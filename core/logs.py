"""Structured logs: every line carries the id of the request (or of the request that enqueued the task).

RequestIdMiddleware sets ``request_id`` for the request (the proxy's X-Request-ID when REQUEST_ID_TRUSTED,
else a new one) and returns it in the X-Request-ID response header; Celery carries it in a message header to
the tasks a request enqueues (celery_app). RequestIdFilter puts it on every log record, and JsonFormatter
writes one JSON object per line when LOG_FORMAT=json.
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


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


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
        return json.dumps(entry, ensure_ascii=False, default=str)


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
