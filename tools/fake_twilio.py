"""A loopback stand-in for Twilio's Messages API, checked against Twilio's official OpenAPI spec.

It records every request, and can answer with Twilio's error body format, time out, or accept a
message and then lose the response: the error paths the spec cannot produce (Prism covers the
contract of the happy path in the tests). Every request is still checked against the spec's
operation: the path and its AccountSid pattern, Basic auth for that account, the form content
type, that each parameter is one the operation declares with a value of its declared type, and
the required ones. A request that breaks the contract gets 422, as from Prism, and is counted in
`contract_violations`. Answers carry every property of the spec's message schema.

The HTTP/1.1 server is a few lines over sockets, not http.server, because the SMS benchmark sends
thousands of messages a second through it on the same two cores as the workers it measures.
"""

import json
import re
import socket
import socketserver
import ssl
import threading
import time
import uuid
from base64 import b64decode
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
STATUS_TEXT = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}


class Contract:
    """What Twilio's spec says about creating and listing messages."""

    def __init__(self, spec_path: Path):
        spec = json.loads(spec_path.read_text())
        self.schemas = spec["components"]["schemas"]
        operations = spec["paths"][MESSAGES_PATH]
        account = next(p for p in operations["post"]["parameters"] if p["name"] == "AccountSid")["schema"]
        self.path = re.compile("^" + MESSAGES_PATH.replace(".", r"\.").replace(
            "{AccountSid}", "(" + account["pattern"].strip("^$") + ")") + "$")
        body = operations["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        self.create_params = {name: self._resolve(schema) for name, schema in body["properties"].items()}
        self.create_required = set(body.get("required", []))
        self.list_params = {p["name"]: self._resolve(p["schema"]) for p in operations["get"]["parameters"]
                            if p["in"] == "query"}
        self.message_properties = list(self.schemas["api.v2010.account.message"]["properties"])

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def value_problem(self, name: str, schema: dict, values: list[str]) -> str | None:
        if schema.get("type") != "array" and len(values) > 1:
            return f"{name} given {len(values)} times"
        item = schema["items"] if schema.get("type") == "array" else schema
        for value in values:
            kind = item.get("type", "string")
            if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                return f"{name} is not an integer"
            if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
                return f"{name} is not a number"
            if kind == "boolean" and value.lower() not in ("true", "false"):
                return f"{name} is not a boolean"
            if "enum" in item and value not in item["enum"]:
                return f"{name} is not one of {item['enum']}"
            if "pattern" in item and not re.search(item["pattern"], value):
                return f"{name} does not match {item['pattern']}"
            if not item.get("minLength", 0) <= len(value) <= item.get("maxLength", len(value)):
                return f"{name} has the wrong length"
            if item.get("format") == "uri" and not item.get("x-twilio", {}).get("ignoreFormat"):
                parts = urlsplit(value)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    return f"{name} is not a URI"
        return None

    def params_problem(self, params: dict[str, list[str]], declared: dict[str, dict]) -> str | None:
        for name, values in params.items():
            if name not in declared:
                return f"{name} is not a parameter of this operation"
            problem = self.value_problem(name, declared[name], values)
            if problem:
                return problem
        return None


@cache
def contract(spec_path: Path) -> Contract:
    return Contract(spec_path)


class _Connection(socketserver.StreamRequestHandler):
    """One keep-alive connection: read requests until the client closes it."""

    def setup(self):
        super().setup()
        # Headers and body go out in one write, but the client's writes may be split: no Nagle delays.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        fake: FakeTwilio = self.server.fake
        while True:
            line = self.rfile.readline(65537)
            if not line:
                return
            try:
                method, target, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                return
            headers = {}
            while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length") or 0))
            status, payload = fake.answer(method, target, headers, body)
            data = json.dumps(payload).encode()
            self.wfile.write(
                f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'Status')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
            if headers.get("connection", "").lower() == "close" or not fake.keep_alive:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is None:
            return sock, address
        sock.settimeout(5)  # a client that never finishes its handshake must not stall the accept loop
        try:
            wrapped = self.tls.wrap_socket(sock, server_side=True)
        except OSError:
            sock.close()  # e.g. a client that refused our certificate; serve_forever just goes on
            raise
        wrapped.settimeout(None)
        return wrapped, address


class FakeTwilio:
    def __init__(self, *, spec: Path, delay: float = 0.0, tls: ssl.SSLContext | None = None):
        self.delay = delay
        self.keep_alive = True  # False: hang up after every answer, as a server whose idle timeout just passed
        self.messages: list[dict] = []  # every message the fake accepted
        self.creates = 0  # POSTs to Messages.json, accepted or not
        self.lists = 0
        self.contract_violations: list[str] = []
        self.script: deque = deque()  # actions for the next POSTs: ("error", http_status, code) or ("lose", seconds)
        self.in_flight = threading.Event()  # set while an accepted message's response is delayed
        # Twilio's clock, stamped on each message (date_created): a test that moves its workers' clock moves this one
        # too, or a worker's lookup after a killed send would see Twilio's messages as from before its own rows.
        self.clock = lambda: datetime.now(UTC)
        self.lock = threading.Lock()
        self.contract = contract(spec)
        self.server = _Server(("127.0.0.1", 0), _Connection)
        self.server.fake = self
        self.server.tls = tls
        # stop() waits up to one poll interval for serve_forever to notice: 0.5 s by default, paid by every test.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        scheme, host = ("https", "localhost") if self.server.tls else ("http", "127.0.0.1")
        return f"{scheme}://{host}:{self.server.server_address[1]}"

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

    # --- Answers ---------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: int | None, message: str) -> tuple[int, dict]:
        return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status}

    def _violation(self, problem: str) -> tuple[int, dict]:
        with self.lock:
            self.contract_violations.append(problem)
        return self._error(422, None, f"Request breaks Twilio's contract: {problem}")

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        url = urlsplit(target)
        match = self.contract.path.match(url.path)
        if not match:
            return self._error(404, 20404, f"The requested resource {url.path} was not found")
        account = match.group(1)
        user, _, password = b64decode(headers.get("authorization", "Basic ")[6:] or b"").decode().partition(":")
        if user != account or not password:
            return self._error(401, 20003, "Authenticate")
        if method == "POST":
            return self._create(url, account, headers, body)
        if method == "GET":
            return self._list(url)
        return self._error(405, 20004, "Method not allowed")

    def _create(self, url, account: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._violation("the body is not application/x-www-form-urlencoded")
        params = parse_qs(body.decode(), keep_blank_values=True)
        problem = self.contract.params_problem(params, self.contract.create_params)
        missing = self.contract.create_required - params.keys()
        if problem or missing:
            return self._violation(problem or f"missing {sorted(missing)}")
        form = {name: values[0] for name, values in params.items()}
        with self.lock:
            self.creates += 1
            action = self.script.popleft() if self.script else None
        if action and action[0] == "error":
            _, status, code = action
            return self._error(status, code, f"Twilio error {code}")
        # Twilio's own rules beyond the schema's `required`.
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return self._error(400, 21602, "Message body is required")
        now = format_datetime(self.clock())
        sid = "SM" + uuid.uuid4().hex
        message = dict.fromkeys(self.contract.message_properties)
        message.update({
            "sid": sid, "account_sid": account, "to": form.get("To"), "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body"), "status": "queued",
            "date_created": now, "date_updated": now, "direction": "outbound-api", "api_version": "2010-04-01",
            "num_segments": "1", "num_media": "0", "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        })
        with self.lock:
            self.messages.append({**message, "status_callback": form.get("StatusCallback"),
                                  "validity_period": form.get("ValidityPeriod"), "received_at": time.monotonic()})
        delay = action[1] if action and action[0] == "lose" else self.delay
        if delay:
            self.in_flight.set()
            threading.Event().wait(delay)
            self.in_flight.clear()
        return 201, message

    def _list(self, url) -> tuple[int, dict]:
        params = parse_qs(url.query, keep_blank_values=True)
        problem = self.contract.params_problem(params, self.contract.list_params)
        if problem:
            return self._violation(problem)
        to = params.get("To", [None])[0]
        with self.lock:
            self.lists += 1
            found = [m for m in reversed(self.messages) if m["to"] == to]
        page_size = int(params.get("PageSize", ["50"])[0])
        page = [{k: v for k, v in m.items() if k not in ("status_callback", "received_at")} for m in found[:page_size]]
        return 200, {"messages": page, "page": 0, "page_size": page_size, "start": 0, "end": len(page),
                     "uri": url.path, "first_page_uri": url.path, "next_page_uri": None, "previous_page_uri": None}
