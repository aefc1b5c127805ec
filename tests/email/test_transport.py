"""The SMTP transport in process (no worker), against the real SMTP server of the fixture."""

import socket

import pytest

from notify.email import services
from notify.email.backends import transport
from notify.email.models import EmailMessage
from tests.email.conftest import booking_make, emailable, held, slot_make

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_kept_smtp_connection_sends_the_final_dot_without_waiting_for_an_ack(smtp_server):
    # The final "." is a write of its own after the hand-over: with Nagle's algorithm on it waits for the
    # server's delayed ACK, 40 ms an email.
    with held():
        booking = booking_make(slot=slot_make(), volunteer=emailable())
    message = EmailMessage.objects.get(booking=booking, volunteer__isnull=False)
    assert services.message_send(message_id=message.pk) == "sent"
    [received] = smtp_server.messages
    assert received["message_id"] == message.message_id
    sock = transport().backend.connection.sock
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
