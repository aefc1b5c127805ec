"""The send path's cost and its guarantees: one claim statement, one record statement, a claim that
threads racing for one row cannot share, one Twilio client per thread, database connections kept
across tasks."""

import logging
import os
import select
import ssl
import threading
import time
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from celery_app import _database_connections_recycle
from notify.sms import services
from notify.sms.backends import TwilioBackend, backend_get
from notify.sms.models import SmsMessage
from tests.factories import BookingFactory, SmsMessageFactory
from tests.sms.factories import slot_make, volunteer_make
from tests.waiting import wait_until
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


def _pending_messages(count: int) -> list[SmsMessage]:
    """Outbox rows waiting to be sent, as a booking writes them (the send itself is what these tests drive)."""
    slot = slot_make(capacity=count)
    messages = []
    for n in range(count):
        volunteer = volunteer_make()
        booking = BookingFactory(volunteer=volunteer, slot=slot, status="confirmed")
        messages.append(SmsMessageFactory(
            volunteer=volunteer, booking=booking, kind="booking_confirmed", version=1, to=volunteer.phone,
            body=f"Booking {n} confirmed. Reply OK to confirm.", encoding="GSM-7", segments=1))
    return messages


def test_a_send_is_one_claim_and_one_record_statement(locmem_sms, django_assert_num_queries):
    [message] = _pending_messages(1)
    with django_assert_num_queries(2):
        assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.status_rank, message.attempts) == ("queued", 2, 1)
    assert message.twilio_sid == locmem_sms[0]["sid"] and message.accepted_at and message.send_started_at


def test_the_claim_sees_an_opt_out_made_after_the_row_was_written(locmem_sms, django_assert_num_queries):
    [message] = _pending_messages(1)
    message.volunteer.sms_opted_out = True
    message.volunteer.save()
    with django_assert_num_queries(2):
        assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (message.status, message.skip_reason) == ("skipped", "opted_out") and locmem_sms == []


def test_a_message_waiting_for_its_retry_is_not_claimed(locmem_sms):
    [message] = _pending_messages(1)
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert services.message_send(message_id=message.pk) == "not_due"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0) and locmem_sms == []


def test_a_send_in_progress_on_a_live_worker_is_not_taken_over(locmem_sms):
    [message] = _pending_messages(1)
    SmsMessage.objects.filter(pk=message.pk).update(status="sending", status_rank=1, attempts=1,
                                                    send_started_at=timezone.now())
    assert services.message_send(message_id=message.pk) == "not_due"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1) and locmem_sms == []


def test_an_interrupted_send_that_twilio_never_got_is_sent_once_after_a_lookup(twilio_fake):
    [message] = _pending_messages(1)
    SmsMessage.objects.filter(pk=message.pk).update(status="sending", status_rank=1, attempts=1,
                                                    send_started_at=timezone.now() - timedelta(hours=1))
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)
    assert twilio_fake.lists == 1 and twilio_fake.creates == 1
    assert message.twilio_sid == twilio_fake.messages[0]["sid"]


def test_threads_racing_for_one_message_send_it_once(locmem_sms):
    [message] = _pending_messages(1)
    barrier = threading.Barrier(8)

    def send() -> str:
        try:
            barrier.wait()
            return services.message_send(message_id=message.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: send(), range(8)))
    assert sorted(outcomes) == ["not_due"] * 7 + ["sent"]
    assert len(locmem_sms) == 1


def test_each_thread_gets_its_own_twilio_client(twilio_fake):
    here = backend_get()
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(backend_get).result()
    assert backend_get() is here
    assert there is not here and there.client is not here.client
    assert there.client.http_client is not here.client.http_client


def test_concurrent_sends_through_the_sdk_each_record_their_own_sid(twilio_fake):
    twilio_fake.delay = 0.01  # responses overlap
    messages = _pending_messages(24)

    def send(message_id: int) -> str:
        try:
            return services.message_send(message_id=message_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, [m.pk for m in messages])) == ["sent"] * 24
    accepted = {(m["to"], m["body"]): m["sid"] for m in twilio_fake.messages}
    assert len(accepted) == 24
    for message in SmsMessage.objects.all():
        assert message.twilio_sid == accepted[(message.to, message.body)]


def _twilio_backend() -> TwilioBackend:
    return TwilioBackend(account_sid="AC" + "a" * 32, auth_token="token", from_="+447700900000",
                         messaging_service_sid=None, api_url="https://api.twilio.com", timeout=2.0)


def test_the_sdk_takes_proxy_and_ca_settings_from_the_environment_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = _twilio_backend().client.http_client
    assert client.proxy == "http://proxy.example.org:3128"
    assert client.ca_bundle == "/etc/ssl/certs/ca-certificates.crt"
    connection = client.connection_new("https", "api.twilio.com", None, 2.0)
    assert (connection.host, connection.port) == ("proxy.example.org", 3128)  # a CONNECT tunnel through the proxy
    assert (connection._tunnel_host, connection._tunnel_port) == ("api.twilio.com", 443)
    assert connection.timeout == 2.0
    assert connection._context.verify_mode == ssl.CERT_REQUIRED and connection._context.check_hostname


def test_a_proxy_that_wants_a_password_gets_it_in_the_tunnel_request(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://frontroom:s%40cret@proxy.example.org:3128")
    connection = _twilio_backend().client.http_client.connection_new("https", "api.twilio.com", None, 2.0)
    assert connection._tunnel_headers == {"Proxy-Authorization": "Basic " + b64encode(b"frontroom:s@cret").decode()}


def test_no_proxy_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    client = _twilio_backend().client.http_client
    assert client.proxy is None
    assert client.connection_new("https", "api.twilio.com", None, 2.0).host == "api.twilio.com"


def _hung_up() -> bool:
    """The kept connection's socket is readable while idle: the server closed its end."""
    [connection] = backend_get().client.http_client._local.connections.values()
    return connection.sock is None or bool(select.select([connection.sock], [], [], 0)[0])


def test_a_kept_alive_connection_the_server_closed_is_replaced_before_the_next_send(twilio_fake):
    first, second = _pending_messages(2)
    twilio_fake.keep_alive = False  # it hangs up after each answer, without saying so in the headers
    assert services.message_send(message_id=first.pk) == "sent"
    wait_until(_hung_up, message="the server's hang-up to reach this end")
    assert services.message_send(message_id=second.pk) == "sent"
    assert twilio_fake.creates == 2 and len(twilio_fake.messages) == 2


def test_sends_from_one_thread_share_one_connection(twilio_fake):
    messages = _pending_messages(3)
    for message in messages:
        assert services.message_send(message_id=message.pk) == "sent"
    connections_open = backend_get().client.http_client._local.connections
    assert len(connections_open) == 1
    [connection] = connections_open.values()
    assert connection.sock is not None  # still open for the next send


def test_a_forked_worker_opens_its_own_connection_to_twilio(twilio_fake):
    [message] = _pending_messages(1)
    assert services.message_send(message_id=message.pk) == "sent"
    client = backend_get().client.http_client
    [parent_connection] = client._connections().values()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the prefork pool's child: same objects, inherited socket
        try:
            os.write(write_end, b"shared" if parent_connection in client._connections().values() else b"own")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read_end, 10) == b"own"
    assert client._connections() == {("http", "127.0.0.1", parent_connection.port): parent_connection}


def test_the_sdk_logs_requests_only_at_debug(twilio_fake, caplog):
    [first, second] = _pending_messages(2)
    with caplog.at_level(logging.INFO, logger="twilio.http_client"):
        services.message_send(message_id=first.pk)
    assert not [r for r in caplog.records if r.name == "twilio.http_client"]
    with caplog.at_level(logging.DEBUG, logger="twilio.http_client"):
        services.message_send(message_id=second.pk)
    assert any("POST Request" in r.getMessage() for r in caplog.records if r.name == "twilio.http_client")


def _worker_task() -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=False))


def test_a_worker_keeps_its_database_connection_between_tasks(settings):
    connection.ensure_connection()
    before = connection.connection
    connection.close_at = time.monotonic() + 60
    _database_connections_recycle(sender=_worker_task())
    assert connection.connection is before


def test_a_worker_drops_an_expired_or_broken_database_connection():
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _database_connections_recycle(sender=_worker_task())
    assert connection.connection is None

    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    connection.connection.close()  # the server went away
    connection.errors_occurred = True
    _database_connections_recycle(sender=_worker_task())
    assert connection.connection is None
    assert SmsMessage.objects.count() == 0  # and the next task reconnects


def test_the_record_of_twilios_sid_is_one_update_of_the_row_this_send_claimed(locmem_sms):
    from django.test.utils import CaptureQueriesContext

    [message] = _pending_messages(1)
    with CaptureQueriesContext(connection) as sent:
        assert services.message_send(message_id=message.pk) == "sent"
    record = sent.captured_queries[-1]["sql"]
    assert record.startswith("UPDATE") and "twilio_sid" in record and "'sending'" in record
    message.refresh_from_db()
    assert (message.status, message.status_rank, message.error_message) == ("queued", 2, "")
    assert message.twilio_sid and message.accepted_at and message.next_attempt_at is None


def test_a_sid_record_lost_in_a_crash_is_recovered_from_twilio_without_a_second_send(twilio_fake):
    from notify.sms.conf import sms_setting

    [message] = _pending_messages(1)
    assert services.message_send(message_id=message.pk) == "sent"
    # What a database crash before the unflushed commit reached the disk leaves: the durable claim.
    SmsMessage.objects.filter(pk=message.pk).update(
        status="sending", status_rank=1, twilio_sid=None, accepted_at=None,
        send_started_at=timezone.now() - timedelta(seconds=sms_setting("SMS_SENDING_STALE_SECONDS") + 1))
    assert services.messages_requeue_stuck(grace=timedelta(0)) == 1  # the sweep hands it out again
    message.refresh_from_db()
    assert message.status == "queued" and message.twilio_sid == twilio_fake.messages[0]["sid"]
    assert twilio_fake.creates == 1 and twilio_fake.lists == 1


def _queued_not_sent(booking_change):
    """Run a booking change whose messages are written and enqueued, but not sent yet (a busy queue)."""
    from unittest import mock

    with mock.patch("notify.sms.services.outbox.message_enqueue"), transaction.atomic():
        return booking_change()


def test_a_waitlisted_text_retried_after_the_promotion_went_is_not_sent(locmem_sms):
    """Texts can overtake each other (a retry with backoff, several workers): the volunteer must not be told
    she is on the waitlist after being told she has a place."""
    from tests.sms.factories import booking_make
    from volunteers.services import booking_cancel

    slot = slot_make(capacity=1)
    first = booking_make(slot=slot)
    waiting = _queued_not_sent(lambda: booking_make(slot=slot))
    assert waiting.status == "waitlisted"
    _queued_not_sent(lambda: booking_cancel(manage_token=first.manage_token))  # frees the place: promoted
    waiting.refresh_from_db()
    assert (waiting.status, waiting.version) == ("confirmed", 2)
    texts = {m.kind: m for m in SmsMessage.objects.filter(booking=waiting)}
    sent_before = len(locmem_sms)

    assert services.message_send(message_id=texts["booking_promoted"].pk) == "sent"
    assert services.message_send(message_id=texts["booking_waitlisted"].pk) == "skipped"
    texts["booking_waitlisted"].refresh_from_db()
    assert (texts["booking_waitlisted"].status, texts["booking_waitlisted"].skip_reason) == ("skipped", "booking_changed")
    assert [m["body"] for m in locmem_sms[sent_before:]] == [texts["booking_promoted"].body]


def test_a_confirmation_overtaken_by_the_cancellation_is_not_sent(locmem_sms):
    from tests.sms.factories import booking_make
    from volunteers.services import booking_cancel

    booking = _queued_not_sent(lambda: booking_make(slot=slot_make()))
    _queued_not_sent(lambda: booking_cancel(manage_token=booking.manage_token))
    texts = {m.kind: m for m in SmsMessage.objects.filter(booking=booking)}

    assert services.message_send(message_id=texts["booking_cancelled"].pk) == "sent"
    assert services.message_send(message_id=texts["booking_confirmed"].pk) == "skipped"
    assert [m["body"] for m in locmem_sms] == [texts["booking_cancelled"].body]


def test_a_stale_text_that_an_interrupted_attempt_did_send_is_recorded_as_sent(twilio_fake):
    """The lookup comes first: if the crashed attempt reached Twilio, the row records it rather than 'skipped'."""
    [message] = _pending_messages(1)
    assert services.message_send(message_id=message.pk) == "sent"
    # The worker died after Twilio took the message and before the SID was recorded; then the booking changed.
    SmsMessage.objects.filter(pk=message.pk).update(status="sending", status_rank=1, twilio_sid=None,
                                                    accepted_at=None,
                                                    send_started_at=timezone.now() - timedelta(hours=1))
    Booking.objects.filter(pk=message.booking_id).update(status="cancelled", version=2)

    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.twilio_sid) == ("queued", twilio_fake.messages[0]["sid"])
    assert twilio_fake.creates == 1 and twilio_fake.lists == 1
