"""The three channels bench/outbox.py measures, one adapter each over the one outbox mechanism: the loopback server
a channel sends to (in a process of its own, as the real one is elsewhere in production), its rows written in bulk
(set-up, not measured), how its rows are enqueued, how many arrived, and what was duplicated or lost."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

from bench import dataset, stack

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.I | re.M)


def rows_clear() -> None:
    """Every channel starts from empty outbox, booking and session tables (RESTART IDENTITY: same ids each run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE email_emailmessage, sms_smsmessage, webhooks_webhookdelivery, volunteers_bookingevent, "
                       "volunteers_booking, volunteers_volunteer, canvass_slot, canvass_canvasssession, "
                       "canvass_meetingpoint RESTART IDENTITY CASCADE")


def bookings_fill(count: int, *, host: str, **volunteer_fields) -> list:
    """`count` confirmed bookings of distinct volunteers on one slot with room for them all."""
    from volunteers.models import Booking, Volunteer

    rows_clear()
    slot = dataset.bench_slot(host_username=host, capacity=max(count, 1))
    volunteers = Volunteer.objects.bulk_create(
        [Volunteer(phone=dataset.uk_mobile(i), name=f"Volunteer {i}", postcode="S10 1AA", lat=53.38, lng=-1.5,
                   consent_sms=True, **{k: (v(i) if callable(v) else v) for k, v in volunteer_fields.items()})
         for i in range(count)], batch_size=2000)
    proven = volunteer_fields.get("phone_verified_at")
    return Booking.objects.bulk_create([Booking(volunteer=v, slot=slot, status="confirmed", proven_at=proven)
                                        for v in volunteers], batch_size=2000)


class Channel:
    name = ""
    noun = ""
    path = ""  # the row label: what one item goes through
    section = ""  # its heading in BENCHMARKS.md

    def env(self) -> dict[str, str]:
        """The worker's settings for this channel."""
        return {}

    def fill(self, count: int) -> list[int]:
        raise NotImplementedError

    def enqueue(self, ids: list[int]) -> None:
        raise NotImplementedError

    def received(self) -> int:
        raise NotImplementedError

    def sweep(self) -> int:
        """What beat's sweep would re-enqueue (the bench calls it when arrivals stall)."""
        return 0

    def settled(self) -> bool:
        """Every row says it was handed over."""
        raise NotImplementedError

    def verify(self, ids: list[int]) -> dict:
        """duplicates and lost (both must be 0), and whatever else this channel checks."""
        raise NotImplementedError

    def clear(self) -> None:
        self.server.ask("clear")

    def stop(self) -> None:
        self.server.stop()


class Sms(Channel):
    name, noun, section = "sms", "messages", "SMS outbox throughput"
    path = "outbox → worker → `twilio` SDK → loopback Twilio (spec-checked)"

    def __init__(self):
        from django.conf import settings

        self.server = stack.FakeTwilioProcess(dataset.shared_data_dir() / "twilio" / "twilio_api_v2010.json")
        for name, value in self.server.env().items():
            setattr(settings, name, value)
        self.rate = "0"

    def env(self) -> dict[str, str]:
        return {**self.server.env(), "SMS_RATE_PER_SECOND": self.rate}

    def fill(self, count: int) -> list[int]:
        from notify.sms.models import SmsMessage
        from notify.sms.segments import segments_count
        from notify.sms.texts import booking_text

        messages = []
        for booking in bookings_fill(count, host="bench-sms-host"):
            body = booking_text(kind="booking_confirmed", booking=booking)
            seg = segments_count(body)
            messages.append(SmsMessage(volunteer=booking.volunteer, booking=booking, kind="booking_confirmed",
                                       version=1, to=booking.volunteer.phone, body=body, encoding=seg.encoding,
                                       segments=seg.segments))
        return [m.pk for m in SmsMessage.objects.bulk_create(messages, batch_size=2000)]

    def enqueue(self, ids: list[int]) -> None:
        from notify.sms.services import message_enqueue

        for message_id in ids:
            message_enqueue(message_id)

    def received(self) -> int:
        return self.server.ask("count")

    def sweep(self) -> int:
        from notify.sms.services import messages_requeue_stuck

        return messages_requeue_stuck(grace=timedelta(seconds=10))

    def settled(self) -> bool:
        from notify.sms.models import SmsMessage

        return not SmsMessage.objects.exclude(status="queued").exists()

    def verify(self, ids: list[int]) -> dict:
        from notify.sms.models import SmsMessage

        received = self.server.ask("messages")
        arrivals = sorted(m["received_at"] for m in received)
        per_message = Counter((m["to"], m["body"]) for m in received)
        return {"duplicates": sum(n - 1 for n in per_message.values() if n > 1),
                "lost": SmsMessage.objects.exclude(status="queued").count() + max(0, len(ids) - len(per_message)),
                "spec violations": len(self.server.ask("violations")),
                "measured_rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0}


def _smtp_serve(port: int, control) -> None:
    """Child process: a real SMTP server (aiosmtpd) that keeps each message's Message-ID."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            found = MESSAGE_ID.search(envelope.content)
            received.append(found.group(1) if found else b"")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "count":
            control.send(len(received))
        elif command == "ids":
            control.send(list(received))
        elif command == "clear":
            received.clear()
            control.send(None)
        else:
            controller.stop()
            control.send(None)
            return


class Email(Channel):
    name, noun, section = "email", "emails", "Email outbox throughput"
    path = "outbox → worker → SMTP (text, HTML, .ics) → loopback aiosmtpd"

    def __init__(self, batch: int = 1):
        self.port = stack.free_port()
        self.server = stack.ChildServer(_smtp_serve, self.port)
        self.batch = batch

    def env(self) -> dict[str, str]:
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(self.port), "EMAIL_TIMEOUT": "10"}

    def fill(self, count: int) -> list[int]:
        from django.utils import timezone

        from notify.email.models import EmailMessage

        now = timezone.now()
        bookings = bookings_fill(count, host="bench-email-host", email=lambda i: f"volunteer{i}@example.org",
                                 consent_email=True, consent_email_at=now, consent_email_version="2026-12-email-1",
                                 phone_verified_at=now)
        return [m.pk for m in EmailMessage.objects.bulk_create(
            [EmailMessage(volunteer=b.volunteer, booking=b, kind="booking_confirmed", version=1) for b in bookings],
            batch_size=2000)]

    def enqueue(self, ids: list[int]) -> None:
        from notify.email.services import message_enqueue
        from notify.email.services.outbox import messages_enqueue_batches

        if self.batch > 1:
            messages_enqueue_batches(ids, size=self.batch)
        else:
            for message_id in ids:
                message_enqueue(message_id)

    def received(self) -> int:
        return self.server.ask("count")

    def sweep(self) -> int:
        from notify.email.services import messages_requeue_stuck

        return messages_requeue_stuck(grace=timedelta(seconds=10))

    def settled(self) -> bool:
        from notify.email.models import EmailMessage

        return not EmailMessage.objects.exclude(status="sent").exists()

    def verify(self, ids: list[int]) -> dict:
        from notify.email.models import EmailMessage

        per_id = Counter(self.server.ask("ids"))
        expected = set(EmailMessage.objects.values_list("message_id", flat=True))
        return {"duplicates": sum(n - 1 for n in per_id.values() if n > 1),
                "lost": EmailMessage.objects.exclude(status="sent").count()
                + len(expected - {m.decode() for m in per_id})}


def _receiver_serve(secret: str, control) -> None:
    """Child process: a threaded http.server that verifies each delivery's signature and answers 200."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sys.path.insert(0, str(dataset.REPO_ROOT))
    from notify.webhooks.signing import SignatureError, verify

    received: list[str] = []
    bad = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                msg_id = verify(secret=secret, headers=dict(self.headers.items()), body=body)
            except SignatureError:
                msg_id = None
            with lock:
                if msg_id is None:
                    bad[0] += 1
                else:
                    received.append(msg_id)
            self.send_response(200 if msg_id else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control.send(f"http://127.0.0.1:{server.server_address[1]}")
    while True:
        command = control.recv()
        with lock:
            if command == "count":
                control.send(len(received))
            elif command == "received":
                control.send((list(received), bad[0]))
            elif command == "clear":
                received.clear()
                bad[0] = 0
                control.send(None)
            else:
                server.shutdown()
                control.send(None)
                return


class Webhooks(Channel):
    name, noun, section = "webhooks", "deliveries", "Webhook outbox throughput"
    path = "outbox → worker → signed POST → loopback receiver (signature-checked)"

    def __init__(self):
        from notify.webhooks.models import WebhookEndpoint
        from notify.webhooks.signing import secret_generate

        secret = secret_generate()
        self.server = stack.ChildServer(_receiver_serve, secret)
        WebhookEndpoint.objects.all().delete()
        self.endpoint = WebhookEndpoint.objects.create(url=self.server.greeting + "/crm", secret=secret,
                                                       description="bench receiver")

    def env(self) -> dict[str, str]:
        return {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}

    def fill(self, count: int) -> list[int]:
        from django.utils import timezone

        from notify.webhooks.models import WebhookDelivery
        from volunteers.models import BookingEvent

        now = timezone.now()
        events = BookingEvent.objects.bulk_create([
            BookingEvent(booking=b, kind="booking_confirmed", version=1, processed_at=now)
            for b in bookings_fill(count, host="bench-webhooks-host", email=lambda i: f"v{i}@example.org")],
            batch_size=2000)
        return [d.pk for d in WebhookDelivery.objects.bulk_create([
            WebhookDelivery(event=e, endpoint=self.endpoint, event_type="booking.confirmed") for e in events],
            batch_size=2000)]

    def enqueue(self, ids: list[int]) -> None:
        from notify.webhooks.services import delivery_enqueue

        for delivery_id in ids:
            delivery_enqueue(delivery_id)

    def received(self) -> int:
        return self.server.ask("count")

    def sweep(self) -> int:
        from notify.webhooks.services.outbox import deliveries_requeue_stuck

        return deliveries_requeue_stuck(grace=timedelta(seconds=10))

    def settled(self) -> bool:
        from notify.webhooks.models import WebhookDelivery

        return not WebhookDelivery.objects.exclude(status="delivered").exists()

    def verify(self, ids: list[int]) -> dict:
        from notify.webhooks.models import WebhookDelivery

        received, bad = self.server.ask("received")
        per_id = Counter(received)
        return {"duplicates": sum(n - 1 for n in per_id.values() if n > 1),
                "lost": WebhookDelivery.objects.exclude(status="delivered").count() + max(0, len(ids) - len(per_id)),
                "bad signatures": bad}


CHANNELS = {"sms": Sms, "email": Email, "webhooks": Webhooks}


def timed_send(channel: Channel, ids: list[int], *, worker_start, warmup: float, ready) -> dict:
    """Enqueue `ids` to a fresh worker and time until the server has them all and every row says so."""
    done = stack.SweptWhenStalled(channel.received, len(ids), channel.sweep)
    with stack.worker_run_timed(worker_start, warmup=warmup, ready=ready) as run:
        channel.enqueue(ids)
        stack.wait_until(done, timeout=3600, what=f"the {channel.name} server to receive every item",
                         worker=run.worker)
        stack.wait_until(channel.settled, timeout=600, what=f"every {channel.name} row to be handed over")
    started = time.monotonic()
    checked = channel.verify(ids)
    checked["verify_s"] = time.monotonic() - started
    return {"count": len(ids), "elapsed": run.elapsed, "rate": len(ids) / run.elapsed, "swept": done.swept,
            "cpu_ms": run.cpu_ms_per(len(ids)), **checked}
