"""A loopback stand-in for Twilio's Messages API that records every request and can answer with
Twilio's error body format, time out, or accept a message and then lose the response."""

import json
import socket
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeTwilio:
    def __init__(self, *, delay: float = 0.0):
        self.delay = delay
        self.messages: list[dict] = []  # every message the fake accepted
        self.creates = 0  # POSTs to Messages.json, accepted or not
        self.lists = 0
        self.script: deque = deque()  # actions for the next POSTs: ("error", http_status, code) or ("lose", seconds)
        self.in_flight = threading.Event()  # set while an accepted message's response is delayed
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes: without NODELAY, Nagle and delayed ACKs add 40 ms each.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with fake.lock:
                    fake.creates += 1
                    action = fake.script.popleft() if fake.script else None
                if action and action[0] == "error":
                    _, status, code = action
                    return self._json(status, {"code": code, "message": f"Twilio error {code}",
                                               "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                               "status": status})
                now = datetime.now(UTC)
                message = {"sid": "SM" + uuid.uuid4().hex, "to": form.get("To"), "from": form.get("From"),
                           "body": form.get("Body"), "status": "queued", "date_created": format_datetime(now),
                           "date_updated": format_datetime(now), "date_sent": None, "direction": "outbound-api",
                           "account_sid": self.path.split("/")[3], "num_segments": "1",
                           "status_callback": form.get("StatusCallback"), "received_at": time.monotonic()}
                with fake.lock:
                    fake.messages.append(message)
                delay = action[1] if action and action[0] == "lose" else fake.delay
                if delay:
                    fake.in_flight.set()
                    threading.Event().wait(delay)
                    fake.in_flight.clear()
                self._json(201, {k: v for k, v in message.items() if k not in ("status_callback", "received_at")})

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    fake.lists += 1
                    found = [m for m in reversed(fake.messages) if m["to"] == query.get("To")]
                page = [{k: v for k, v in m.items() if k not in ("status_callback", "received_at")} for m in found[:50]]
                self._json(200, {"messages": page, "page": 0, "page_size": 50, "start": 0, "end": len(page),
                                 "uri": url.path, "first_page_uri": url.path, "next_page_uri": None,
                                 "previous_page_uri": None})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent_per_recipient_body(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for m in self.messages:
            counts[(m["to"], m["body"])] = counts.get((m["to"], m["body"]), 0) + 1
        return counts
