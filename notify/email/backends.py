"""The email transport behind the outbox: Django's configured EMAIL_BACKEND, one connection per worker thread.

SMTP (Django's smtp backend, with its EMAIL_HOST, TLS and login settings) is driven a step at a time so the send
can record the hand-over just before the final "." of DATA: before it the server discards a message whose
client vanished, after it the server may have kept it. Any other backend (console, locmem, django-anymail's
providers) is called as Django calls it, the hand-over recorded just before. Errors come back as SendError,
saying whether a retry may succeed (`transient`) and whether the server may hold the message (`uncertain`).
"""

import logging
import re
import smtplib
import socket
import threading

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

logger = logging.getLogger(__name__)

CRLF = b"\r\n"
_EOLS = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SendError(Exception):
    def __init__(self, message: str, *, code: int | None = None, transient: bool = False, uncertain: bool = False):
        super().__init__(message)
        self.message = message[:300]
        self.code = code
        self.transient = transient
        self.uncertain = uncertain


def _reply_error(code: int, reply: bytes | str, what: str) -> SendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    # RFC 5321: 4yz is a transient negative completion (try again later), 5yz a permanent one.
    return SendError(f"{what}: {code} {text}".strip(), code=code, transient=400 <= code < 500)


def _dot_stuffed(data: bytes) -> bytes:
    data = _LEADING_DOT.sub(b"..", _EOLS.sub(CRLF, data))
    return data if data.endswith(CRLF) else data + CRLF


class Transport:
    """One thread's connection to the configured backend, kept open between sends."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        # settings.EMAIL_BACKEND is usually core.mail's counted wrapper: SMTP is driven on the backend inside it,
        # and counted here as the wrapper would.
        inner = getattr(self.backend, "inner", None)
        self.metered = isinstance(inner, SmtpBackend)
        if self.metered:
            self.backend = inner
        self.smtp = isinstance(self.backend, SmtpBackend)

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:  # noqa: BLE001 - a connection already broken closes badly
            pass
        if self.smtp:
            self.backend.connection = None

    def send(self, message: DjangoEmailMessage, *, on_handover) -> None:
        if self.smtp:
            try:
                self._smtp_send(message, on_handover)
            except SendError:
                self._count("failed")
                raise
            self._count("sent")
            return None
        on_handover()
        try:
            sent = self.backend.send_messages([message])
        except Exception as exc:  # noqa: BLE001 - providers raise their own types; mapped below
            raise _provider_error(exc) from exc
        if not sent:
            raise SendError("the backend did not send the message", transient=True)
        return None

    def _count(self, result: str) -> None:
        if self.metered:
            from core import metrics

            metrics.EMAILS.labels(result=result).inc()

    def _open(self) -> smtplib.SMTP:
        try:
            opened = self.backend.open()
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _reply_error(exc.smtp_code, exc.smtp_error, "connect") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise SendError(f"connect: {exc}", transient=True) from exc
        if opened:
            _no_delay(self.backend.connection)
        return self.backend.connection

    def _smtp_send(self, message: DjangoEmailMessage, on_handover) -> None:
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(message.from_email, encoding)
        recipient = sanitize_address(message.to[0], encoding)
        data = _dot_stuffed(message.message().as_bytes(linesep="\r\n"))
        for attempt in (1, 2):
            smtp = self._open()
            try:
                smtp.ehlo_or_helo_if_needed()
                code, reply = smtp.mail(sender)
                break
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # A kept connection the server has closed meanwhile: nothing was sent, open a new one once.
                self.close()
                if attempt == 2:
                    raise SendError(f"MAIL: {exc}", transient=True) from exc
        try:
            if code != 250:
                raise _reply_error(code, reply, "MAIL FROM")
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _reply_error(code, reply, "RCPT TO")
            code, reply = smtp.docmd("data")
            if code != 354:
                raise _reply_error(code, reply, "DATA")
            smtp.send(data)
        except SendError:
            self._rset(smtp)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            self.close()  # before the final dot: the server drops the message with the connection
            raise SendError(f"SMTP: {exc}", transient=True) from exc
        on_handover()
        try:
            smtp.send(b"." + CRLF)
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:  # a timeout is an OSError
            self.close()
            raise SendError(f"no answer after the message was handed over: {exc}", uncertain=True) from exc
        if code != 250:
            raise _reply_error(code, reply, "end of DATA")
        return None

    def _rset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()


def _no_delay(smtp: smtplib.SMTP) -> None:
    # The final "." goes in a write of its own, after the hand-over is committed. With Nagle's algorithm on, that
    # write waits for the server to acknowledge the message's last segment, which a server with nothing to say
    # yet delays (40 ms on Linux): 40 ms per email, measured 50 ms a send against 5 ms without it.
    sock = getattr(smtp, "sock", None)
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _provider_error(exc: Exception) -> SendError:
    """django-anymail's errors (and anything else a backend raises): 429 and 5xx are worth a retry."""
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    name = type(exc).__name__
    if name == "AnymailRecipientsRefused":
        return SendError(f"{name}: {exc}", code=status)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_error(exc.smtp_code, exc.smtp_error, name)
    transient = status is None or status == 429 or status >= 500
    return SendError(f"{name}: {exc}", code=status, transient=transient)


_local = threading.local()


def _config_key() -> tuple:
    return (settings.EMAIL_BACKEND, getattr(settings, "EMAIL_DELIVERY_BACKEND", None), getattr(settings, "EMAIL_HOST", None), getattr(settings, "EMAIL_PORT", None),
            getattr(settings, "EMAIL_HOST_USER", None), getattr(settings, "EMAIL_USE_TLS", None),
            getattr(settings, "EMAIL_USE_SSL", None))


def transport() -> Transport:
    """This thread's transport, kept between tasks (a worker sends many emails over one SMTP connection)."""
    key = _config_key()
    current = getattr(_local, "transport", None)
    if current is None or _local.key != key:
        if current is not None:
            current.close()
        _local.transport, _local.key = Transport(), key
    return _local.transport


def transport_reset() -> None:
    current = getattr(_local, "transport", None)
    if current is not None:
        current.close()
    _local.transport = None
