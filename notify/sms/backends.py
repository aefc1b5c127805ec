"""SMS backends, in the manner of Django's email backends.

``SMS_BACKEND`` picks one by dotted path (or ``console``/``twilio``/``locmem``). Unset, the Twilio
backend is used when ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and a sender are configured,
otherwise the console backend logs each message (what ``make run`` shows).
"""

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from notify.sms.twilio_http import TWILIO_DEFAULT_API_URL, KeepAliveHttpClient, TransportError

logger = logging.getLogger(__name__)

# Twilio error codes (https://www.twilio.com/docs/api/errors) and what they mean for us.
TRANSIENT_CODES = {20429}  # too many requests
INVALID_NUMBER_CODES = {21211, 21614, 30005, 30006}  # invalid 'To', not a mobile, unknown, landline
OPTED_OUT_CODES = {21610}  # the recipient replied STOP
# The text waited in Twilio's queue past its ValidityPeriod (30036) or past the queue's limit (30001): Twilio dropped
# it rather than deliver it late. Nothing is wrong with the number.
DROPPED_LATE_CODES = {30036, 30001}
# Twilio's bounds for ValidityPeriod, in seconds.
VALIDITY_MIN, VALIDITY_MAX = 1, 36000


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SendError(Exception):
    """A send Twilio refused or that may not have reached it; `transient` says whether to retry."""

    def __init__(self, message: str, *, code: int | None = None, transient: bool = False, http_status: int | None = None):
        super().__init__(message)
        self.message = message[:300]
        self.code = code
        self.transient = transient
        self.http_status = http_status


class BaseBackend:
    # What a send this backend accepted means (the log's words for a message stored as "queued").
    accepted = gettext_noop("Accepted by the SMS backend")

    def send(self, *, to: str, body: str, status_callback: str | None = None,
             validity_period: int | None = None) -> SendResult:
        raise NotImplementedError

    def find(self, *, to: str, body: str, since: datetime) -> list[str]:
        """SIDs of messages the provider already has for `to` with `body`, created since `since`."""
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Logs messages instead of sending them."""

    accepted = gettext_noop("Written to the log (not sent: no SMS provider is configured)")

    def send(self, *, to: str, body: str, status_callback: str | None = None,
             validity_period: int | None = None) -> SendResult:
        # The line is the text itself, its links included (make run's stand-in for a phone): core.logs keeps them.
        logger.info("SMS to %s: %s", to, body, extra={"private_links": True})
        return SendResult(sid="SM" + uuid.uuid4().hex, status="sent")

    def find(self, *, to: str, body: str, since: datetime) -> list[str]:
        return []


class LocmemBackend(BaseBackend):
    """Keeps messages in `LocmemBackend.outbox` (for tests), like Django's locmem email backend."""

    accepted = gettext_noop("Kept in memory (test backend: not sent)")
    outbox: list[dict] = []
    _lock = threading.Lock()

    def send(self, *, to: str, body: str, status_callback: str | None = None,
             validity_period: int | None = None) -> SendResult:
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.outbox.append({"sid": sid, "to": to, "body": body, "status_callback": status_callback,
                                "validity_period": validity_period, "date_created": datetime.now().astimezone()})
        return SendResult(sid=sid, status="queued")

    def find(self, *, to: str, body: str, since: datetime) -> list[str]:
        return [item["sid"] for item in self.outbox
                if item["to"] == to and item["body"] == body and item["date_created"] >= since]


def _send_error(exc: Exception) -> SendError:
    if isinstance(exc, TwilioRestException):
        code = exc.code if isinstance(exc.code, int) else None
        transient = code in TRANSIENT_CODES or exc.status == 429 or exc.status >= 500
        return SendError(exc.msg or str(exc), code=code, transient=transient, http_status=exc.status)
    # Timeouts and connection errors: the request may or may not have reached Twilio.
    text = str(exc) if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
    return SendError(text, transient=True)


class TwilioBackend(BaseBackend):
    """Sends through Twilio's REST API with the official SDK."""

    accepted = gettext_noop("Accepted by Twilio")

    def __init__(self, *, account_sid: str, auth_token: str, from_: str | None, messaging_service_sid: str | None,
                 api_url: str, timeout: float):
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(account_sid, auth_token, http_client=KeepAliveHttpClient(api_url=api_url, timeout=timeout))

    def _sender(self) -> dict:
        if self.messaging_service_sid:
            return {"messaging_service_sid": self.messaging_service_sid}
        return {"from_": self.from_}

    def send(self, *, to: str, body: str, status_callback: str | None = None,
             validity_period: int | None = None) -> SendResult:
        extra = {"status_callback": status_callback} if status_callback else {}
        if validity_period is not None:
            # Twilio drops a text still in its queue after this many seconds (status "failed", error 30036).
            extra["validity_period"] = max(VALIDITY_MIN, min(VALIDITY_MAX, int(validity_period)))
        try:
            message = self.client.messages.create(to=to, body=body, **self._sender(), **extra)
        except (TwilioException, TransportError) as exc:
            raise _send_error(exc) from exc
        if not message.sid:
            raise SendError("Twilio answered without a message SID.", transient=True)
        return SendResult(sid=message.sid, status=str(message.status or "queued"))

    def find(self, *, to: str, body: str, since: datetime) -> list[str]:
        # Query by recipient only and match the time on date_created: a message still queued has
        # no date_sent, so Twilio's DateSent filter would miss exactly the one we are looking for.
        sender = {"from_": self.from_} if self.from_ and not self.messaging_service_sid else {}
        try:
            messages = self.client.messages.list(to=to, limit=50, page_size=50, **sender)
        except (TwilioException, TransportError) as exc:
            raise _send_error(exc) from exc
        window_start = since - timedelta(minutes=1)  # tolerate clock skew between us and Twilio
        return [m.sid for m in messages
                if m.body == body and m.date_created is not None and m.date_created >= window_start]


_ALIASES = {
    "console": "notify.sms.backends.ConsoleBackend",
    "locmem": "notify.sms.backends.LocmemBackend",
    "twilio": "notify.sms.backends.TwilioBackend",
}
# One backend per thread, each with its own connection pool: nothing in a send waits on another thread.
class _PerThread(threading.local):
    def __init__(self):
        self.backends: dict[tuple, BaseBackend] = {}


_per_thread = _PerThread()


def twilio_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN
                and (settings.TWILIO_FROM or settings.TWILIO_MESSAGING_SERVICE_SID))


def sender_key() -> str:
    """Identifies the sender whose send rate is limited."""
    return settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM or "console"


def backend_accepted_words() -> str:
    """What "queued" (a send the backend accepted) means with the configured backend, for people reading the log:
    the console backend writes to the log, it never reaches Twilio."""
    path = settings.SMS_BACKEND or (_ALIASES["twilio"] if twilio_configured() else _ALIASES["console"])
    return import_string(_ALIASES.get(path, path)).accepted


def backend_get() -> BaseBackend:
    """The configured backend, built once per configuration and thread (the Twilio client keeps its connection)."""
    path = settings.SMS_BACKEND or (_ALIASES["twilio"] if twilio_configured() else _ALIASES["console"])
    path = _ALIASES.get(path, path)
    key = (path, settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM,
           settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_API_URL, settings.TWILIO_TIMEOUT)
    backends = _per_thread.backends
    backend = backends.get(key)
    if backend is None:
        cls = import_string(path)
        if issubclass(cls, TwilioBackend):
            backend = cls(
                account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN,
                from_=settings.TWILIO_FROM, messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
                api_url=settings.TWILIO_API_URL or TWILIO_DEFAULT_API_URL, timeout=settings.TWILIO_TIMEOUT,
            )
        else:
            backend = cls()
        backends[key] = backend
    return backend
