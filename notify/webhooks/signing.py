"""Standard Webhooks signatures (HMAC-SHA256): sign what we send, and verify it as a receiver would.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature header is a space-separated
list of ``v1,<base64>``; secrets are ``whsec_<base64 of the key>``. Receivers may use any Standard Webhooks
library instead of ``verify`` (docs/webhooks.md).
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# The spec: at least 24 bytes, at most 64.
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
TOLERANCE_SECONDS = 5 * 60


class SignatureError(Exception):
    """The headers are missing or malformed, the timestamp is outside the tolerance, or no signature matches."""


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError if it is not one of 24-64 bytes in base64."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"A secret starts with {SECRET_PREFIX}.")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("After whsec_ a secret is base64.") from exc
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"A secret is {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes of base64 after whsec_.")
    return key


def signature(*, secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    payload = body.encode("utf-8") if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers_sign(*, secret: str, msg_id: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (the timestamp is the attempt's, not the event's)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)}


def verify(*, secret: str | list[str], headers: Mapping[str, str], body: str | bytes,
           tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> str:
    """Check a received webhook against one secret (or several, while a rotated secret is still trusted);
    return its webhook-id. Raises SignatureError. Compare the id with those already processed to drop replays."""
    lowered = {key.lower(): value for key, value in headers.items()}
    msg_id, stamp, signatures = (lowered.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures):
        raise SignatureError("Missing webhook-id, webhook-timestamp or webhook-signature.")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not an integer.") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance (a replay, or a clock far off).")
    received = []
    for item in signatures.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and value:
            try:
                received.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
    for candidate in [secret] if isinstance(secret, str) else secret:
        expected = base64.b64decode(signature(secret=candidate, msg_id=msg_id, timestamp=timestamp,
                                              body=body).partition(",")[2])
        if any(hmac.compare_digest(expected, value) for value in received):
            return msg_id
    raise SignatureError("No signature matches.")
