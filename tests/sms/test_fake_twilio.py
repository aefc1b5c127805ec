"""The loopback Twilio used for error paths holds requests to Twilio's spec: it is no fake that accepts anything."""

from base64 import b64encode

import pytest
import urllib3

from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
AUTH = {"Authorization": "Basic " + b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}


@pytest.fixture
def http(fake_twilio):
    pool = urllib3.PoolManager(retries=False)

    def send(method: str, path: str = MESSAGES, *, fields: dict | None = None, headers: dict | None = None):
        extra = {"fields": fields, "encode_multipart": False} if fields is not None else {}
        response = pool.request(method, fake_twilio.url + path, headers=AUTH if headers is None else headers, **extra)
        return response.status, response.json()

    yield send
    fake_twilio.contract_violations.clear()  # this module breaks the contract on purpose


def test_a_valid_create_is_accepted_with_every_property_of_the_spec(http, fake_twilio):
    status, body = http("POST", fields={"To": "+447700900123", "From": SENDER, "Body": "Hello",
                                        "StatusCallback": "https://frontroom.example.org/twilio/status/"})
    assert status == 201 and body["sid"].startswith("SM") and body["status"] == "queued"
    assert set(body) == set(fake_twilio.contract.message_properties)
    assert fake_twilio.messages[0]["status_callback"] == "https://frontroom.example.org/twilio/status/"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"To": "+447700900123", "From": SENDER, "Body": "Hi", "Colour": "red"}, "Colour is not a parameter"),
    ({"From": SENDER, "Body": "Hi"}, "missing ['To']"),
    ({"To": "+447700900123", "MessagingServiceSid": "MG123", "Body": "Hi"}, "MessagingServiceSid does not match"),
    ({"To": "+447700900123", "From": SENDER, "Body": "Hi", "StatusCallback": "not a url"}, "StatusCallback is not a URI"),
    ({"To": "+447700900123", "From": SENDER, "Body": "Hi", "ValidityPeriod": "soon"}, "ValidityPeriod is not an integer"),
    ({"To": "+447700900123", "From": SENDER, "Body": "Hi", "ProvideFeedback": "maybe"}, "ProvideFeedback is not a boolean"),
])
def test_requests_that_break_the_contract_get_422_and_are_recorded(http, fake_twilio, fields, problem):
    status, body = http("POST", fields=fields)
    assert status == 422 and problem in body["message"]
    assert fake_twilio.messages == [] and problem in fake_twilio.contract_violations[0]


def test_twilio_rules_beyond_the_schema_answer_with_twilio_codes(http):
    assert http("POST", fields={"To": "+447700900123", "Body": "Hi"})[1]["code"] == 21603
    assert http("POST", fields={"To": "+447700900123", "From": SENDER})[1]["code"] == 21602


def test_the_account_and_its_credentials_are_checked(http):
    assert http("POST", "/2010-04-01/Accounts/ACnope/Messages.json", fields={"To": "+447700900123"})[0] == 404
    assert http("POST", fields={"To": "+447700900123", "From": SENDER, "Body": "Hi"}, headers={})[0] == 401
    other = {"Authorization": "Basic " + b64encode(f"AC{'b' * 32}:x".encode()).decode()}
    assert http("POST", fields={"To": "+447700900123", "From": SENDER, "Body": "Hi"}, headers=other)[0] == 401


def test_list_filters_are_checked_against_the_operation(http):
    status, body = http("GET", MESSAGES + "?To=%2B447700900123&PageSize=50")
    assert status == 200 and body["messages"] == []
    status, body = http("GET", MESSAGES + "?Recipient=%2B447700900123")
    assert status == 422 and "Recipient is not a parameter" in body["message"]
