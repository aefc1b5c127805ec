"""No log line carries a private link's token: a /b/<token> in a log is a key to someone's booking."""

import json
import logging

import pytest

from core.logs import JsonFormatter, PlainFormatter, redact_private_links
from tests.factories import SlotFactory, book

pytestmark = pytest.mark.django_db

UNKNOWN = "Zz9_unknown-token-0123456789"


@pytest.fixture
def booking(postcode):
    return book(SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode))


def _lines(caplog) -> str:
    """Everything the captured records would print, through both of the app's formatters."""
    plain = PlainFormatter("%(levelname)s %(name)s %(message)s")
    return "\n".join([caplog.text, *caplog.messages, *(plain.format(r) for r in caplog.records),
                      *(JsonFormatter().format(r) for r in caplog.records)])


def test_django_request_warnings_for_private_links_are_logged_without_their_tokens(client, booking, caplog):
    token, challenge = booking.manage_token, booking.challenges.first()
    with caplog.at_level(logging.INFO):
        assert client.get(f"/b/{UNKNOWN}").status_code == 404
        assert client.get(f"/b/{UNKNOWN}/calendar.ics").status_code == 404
        assert client.get(f"/api/bookings/{token}/cancel/").status_code == 405
        assert client.put(f"/api/bookings/{token}/").status_code == 405
        assert client.put(f"/check/{UNKNOWN}/").status_code == 405
        if challenge is not None:
            assert client.get(f"/api/challenges/{challenge.token}/verify/").status_code == 405
        assert client.get(f"/feeds/volunteer/{UNKNOWN}.ics").status_code == 404
        assert client.get(f"/email/unsubscribe/v1.{UNKNOWN}/").status_code in (200, 400, 404)
    warnings = [r for r in caplog.records if r.name == "django.request"]
    assert len(warnings) >= 6
    text = _lines(caplog)
    assert token not in text and UNKNOWN not in text
    assert challenge is None or challenge.token not in text
    assert "/b/[redacted]" in text and "/api/bookings/[redacted]/" in text


def test_the_json_formatter_redacts_the_request_repr_in_extra(client, caplog):
    with caplog.at_level(logging.WARNING):
        client.get(f"/b/{UNKNOWN}")
    record = next(r for r in caplog.records if r.name == "django.request")
    assert UNKNOWN in repr(record.request)  # Django puts the request on the record...
    entry = json.loads(JsonFormatter().format(record))
    assert UNKNOWN not in json.dumps(entry) and entry["request"].startswith("<WSGIRequest")  # ...it is not written


def test_any_logger_and_a_traceback_lose_the_tokens(caplog):
    log = logging.getLogger("frontroom.test")
    with caplog.at_level(logging.INFO):
        log.warning("opened %s", f"https://frontroom.example/b/{UNKNOWN}/prove/")
        try:
            raise ValueError(f"bad link /api/bookings/{UNKNOWN}/")
        except ValueError:
            log.exception("failed")
    assert UNKNOWN not in _lines(caplog)


def test_the_console_sms_backend_still_prints_the_texted_link(caplog, settings):
    from notify.sms.backends import ConsoleBackend

    with caplog.at_level(logging.INFO):
        ConsoleBackend().send(to="+447400111222", body=f"Your booking: https://x.example/b/{UNKNOWN}")
    assert UNKNOWN in caplog.text  # make run's stand-in for a phone: the text, link and all


@pytest.mark.parametrize(("text", "kept"), [
    ("/s/12/book/", "/s/12/book/"), ("/api/volunteers/", "/api/volunteers/"), ("/static/web/app.1234abcd.css", None),
    ("/host/reset/MQ/c1x2y3-0123456789abcdef/", "/host/reset/MQ/[redacted]/"),
    ("/n/kMNR_bYT0GahJnGnyYnd2A/change/", "/n/[redacted]/change/"),  # a dispatch sign-up's private link
])
def test_only_tokens_are_redacted(text, kept):
    assert redact_private_links(text) == (kept or text)


def test_sentry_events_lose_the_tokens_of_private_links():
    from core.sentry import before_send

    event = {"request": {"url": f"https://frontroom.example/b/{UNKNOWN}/prove/"},
             "exception": {"values": [{"value": f"no booking at /api/bookings/{UNKNOWN}/"}]}}
    assert UNKNOWN not in json.dumps(before_send(event, {}))


def test_a_gunicorn_access_line_loses_the_token(caplog):
    # gunicorn's access log (when switched on) logs a format with a dict of atoms, in a worker where Django is set up.
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s', {
            "h": "203.0.113.9", "r": f"GET /b/{UNKNOWN}/calendar.ics HTTP/1.1", "s": "200"})
    assert caplog.messages == ['203.0.113.9 "GET /b/[redacted]/calendar.ics HTTP/1.1" 200']
