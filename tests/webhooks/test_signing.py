"""Standard Webhooks signatures: the spec's own test vector, our verify, and the reference library's verify."""

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notify.webhooks.signing import (
    SignatureError,
    headers_sign,
    secret_generate,
    secret_key,
    signature,
    verify,
)

# From the Standard Webhooks repository's libraries (libraries/python/tests/test_webhooks.py, test_sign_function).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_matches_the_standard_webhooks_test_vector():
    assert signature(secret=VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP,
                     body=VECTOR_BODY) == VECTOR_SIGNATURE


def test_verify_accepts_the_test_vector_at_its_time_and_refuses_it_later():
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TIMESTAMP),
               "webhook-signature": VECTOR_SIGNATURE}
    assert verify(secret=VECTOR_SECRET, headers=headers, body=VECTOR_BODY, now=VECTOR_TIMESTAMP + 10) == VECTOR_ID
    with pytest.raises(SignatureError, match="tolerance"):
        verify(secret=VECTOR_SECRET, headers=headers, body=VECTOR_BODY, now=VECTOR_TIMESTAMP + 301)


def test_generated_secrets_are_whsec_and_32_random_bytes():
    first, second = secret_generate(), secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(secret_key(first)) == 32 == len(base64.b64decode(first[6:]))


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + "QUJD",
                                 "whsec_" + base64.b64encode(b"x" * 65).decode()])
def test_secrets_that_are_not_whsec_base64_of_24_to_64_bytes_are_refused(bad):
    with pytest.raises(ValueError):
        secret_key(bad)


def test_our_headers_verify_with_the_reference_library_and_with_ours():
    secret = secret_generate()
    body = json.dumps({"type": "booking.confirmed", "data": {"name": "Zoë"}}, ensure_ascii=False)
    headers = headers_sign(secret=secret, msg_id="evt_42", body=body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert verify(secret=secret, headers=headers, body=body.encode()) == "evt_42"


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_any_change_breaks_the_signature(tamper):
    secret, body = secret_generate(), '{"a":1}'
    headers = headers_sign(secret=secret, msg_id="evt_1", body=body)
    if tamper == "body":
        body = '{"a":2}'
    elif tamper == "id":
        headers["webhook-id"] = "evt_2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        secret = secret_generate()
    with pytest.raises(SignatureError):
        verify(secret=secret, headers=headers, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_a_rotation_header_carries_two_signatures_and_either_secret_verifies():
    old, new, body = secret_generate(), secret_generate(), "{}"
    stamp = int(time.time())
    header = " ".join(signature(secret=s, msg_id="evt_9", timestamp=stamp, body=body) for s in (new, old))
    headers = {"webhook-id": "evt_9", "webhook-timestamp": str(stamp), "webhook-signature": header}
    for secret in (old, new):
        assert verify(secret=secret, headers=headers, body=body) == "evt_9"
        Webhook(secret).verify(body, headers)
    with pytest.raises(SignatureError):
        verify(secret=secret_generate(), headers=headers, body=body)


def test_missing_headers_are_refused():
    with pytest.raises(SignatureError, match="Missing"):
        verify(secret=secret_generate(), headers={"webhook-id": "evt_1"}, body="{}")
