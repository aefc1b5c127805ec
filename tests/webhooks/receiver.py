"""A local webhook receiver: a threaded http.server on a free loopback port that records every request and answers
what the test scripts (per path: a list of statuses to answer in turn, then 200; a delay before answering)."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    # path -> statuses to answer in turn (then 200), e.g. [500, 500]
    script: dict[str, list[int]] = field(default_factory=dict)
    extra_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    delay: float = 0.0
    in_flight: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.monotonic()))
                    queue = receiver.script.get(self.path) or []
                    status = queue.pop(0) if queue else 200
                if receiver.delay:
                    receiver.in_flight.set()
                    time.sleep(receiver.delay)
                reply = b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
                self.send_response(status)
                for name, value in receiver.extra_headers.get(self.path, {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if request.path == path]
