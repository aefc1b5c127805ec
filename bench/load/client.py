"""The open-loop client: the mix's requests on a Poisson schedule, a booking's two steps with retries, hits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import dataset, reporting
from bench.load.config import EXPECTED, MIX, REQUESTS_PER_ACTION, log


@dataclass
class Hit:
    kind: str
    tag: str  # the step or phase the action was started in
    due: float  # monotonic time the request was due (open loop: latency counts from here)
    sent: float
    done: float
    status: int | None  # None: connection error or timeout
    error: str = ""
    retry_after: bool = False
    retry_after_s: float = 0.0
    cache: str = ""  # X-Frontroom-Cache: HIT, MISS, STALE, BYPASS (issue 26; bench/load_cache.py)

    @property
    def latency(self) -> float:
        return self.done - self.due

    @property
    def ok(self) -> bool:
        return self.status == EXPECTED[self.kind]

@dataclass
class BookingRecord:
    phone: str
    slot_id: int
    tag: str
    tokens: list[str] = field(default_factory=list)  # challenge tokens from 202 answers
    request_status: list = field(default_factory=list)
    proof_status: list = field(default_factory=list)
    manage_token: str | None = None
    code_missing: bool = False

class Client:
    """The open-loop election-weekend mix."""

    def __init__(self, args, base: str, postcodes: list[str], session_ids: list[int], booking_slots: list[int]):
        self.args, self.base = args, base
        self.postcodes, self.session_ids, self.booking_slots = postcodes, session_ids, booking_slots
        self.rng = random.Random(args.seed + 14)
        self.hits: list[Hit] = []
        self.bookings: list[BookingRecord] = []
        self.next_phone = 0
        self.in_flight = 0
        self.dropped: Counter = Counter()
        self.lag: list[float] = []  # how late the client sent requests (its own overload)
        self.session = None
        self.close_connections = False
        self.max_in_flight = 2000  # actions; bench/soak.py sheds load sooner (counted in `dropped`)

    async def __aenter__(self):
        import aiohttp

        # Idle connections are dropped before gunicorn's 2 s keep-alive closes them: otherwise a request can
        # race the server's close and fail with a reset that no server bug caused.
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=1.0)
        self.session = aiohttp.ClientSession(self.base, connector=connector,
                                             timeout=aiohttp.ClientTimeout(total=self.args.timeout))
        return self

    async def __aexit__(self, *exc):
        await self.session.close()

    async def request(self, kind: str, tag: str, due: float, method: str, path: str, body=None) -> tuple[Hit, bytes]:
        import aiohttp

        sent = time.monotonic()
        self.lag.append(sent - due)
        payload = b""
        try:
            async with self.session.request(method, path, json=body, allow_redirects=False) as response:
                payload = await response.read()
                hit = Hit(kind, tag, due, sent, time.monotonic(), response.status,
                          retry_after="Retry-After" in response.headers,
                          cache=response.headers.get("X-Frontroom-Cache", ""))
                with contextlib.suppress(ValueError):
                    hit.retry_after_s = float(response.headers.get("Retry-After", "0"))
                if response.status >= 500 or response.status != EXPECTED[kind]:
                    hit.error = payload[:160].decode(errors="replace")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            hit = Hit(kind, tag, due, sent, time.monotonic(), None, error=type(exc).__name__)
        self.hits.append(hit)
        return hit, payload

    async def action(self, name: str, tag: str, due: float) -> None:
        self.in_flight += 1
        try:
            if name == "search_page":
                postcode = self.rng.choice(self.postcodes).replace(" ", "+")
                await self.request(name, tag, due, "GET", f"/find/?postcode={postcode}")
            elif name == "search_api":
                postcode = self.rng.choice(self.postcodes).replace(" ", "%20")
                await self.request(name, tag, due, "GET", f"/api/sessions/?near={postcode}")
            elif name == "session_page":
                await self.request(name, tag, due, "GET", f"/s/{self.rng.choice(self.session_ids)}/")
            else:
                await self.booking(tag, due)
        finally:
            self.in_flight -= 1

    async def _with_retries(self, kind: str, tag: str, due: float, path: str, body: dict, record: list):
        for attempt in range(self.args.retries + 1):
            hit, payload = await self.request(kind, tag, due, "POST", path, body)
            record.append(hit.status)
            if hit.ok or (hit.status is not None and hit.status < 500):
                return hit, payload
            if attempt == self.args.retries:
                return hit, payload
            await asyncio.sleep(min(5.0, hit.retry_after_s) if hit.retry_after_s > 0 else 1.0)
            due = time.monotonic()
        return hit, payload

    async def booking(self, tag: str, due: float) -> None:
        phone = dataset.uk_mobile(self.next_phone)
        self.next_phone += 1
        record = BookingRecord(phone=phone, slot_id=self.rng.choice(self.booking_slots), tag=tag)
        self.bookings.append(record)
        body = {"name": f"Volunteer {phone[-6:]}", "phone": phone, "postcode": self.rng.choice(self.postcodes),
                "consent_sms": True}
        hit, payload = await self._with_retries("book", tag, due, f"/api/slots/{record.slot_id}/bookings/", body,
                                                record.request_status)
        if not hit.ok:
            return
        token = json.loads(payload)["challenge"]
        record.tokens.append(token)
        code = await asyncio.to_thread(_texted_code, token, 30.0, self.close_connections)
        if code is None:
            record.code_missing = True
            return
        hit, payload = await self._with_retries("proof", tag, time.monotonic(), f"/api/challenges/{token}/verify/",
                                                {"code": code}, record.proof_status)
        if hit.ok:
            record.manage_token = json.loads(payload).get("manage_token")

    async def open_loop(self, rate: float, seconds: float, tag: str, progress: bool = True,
                        stop: asyncio.Event | None = None) -> float:
        """Start actions on a Poisson schedule at `rate` requests/s for `seconds` (or until `stop` is set); wait
        for them to finish; return the seconds the arrivals lasted."""
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        action_rate = rate / REQUESTS_PER_ACTION
        tasks: set[asyncio.Task] = set()
        started = time.monotonic()
        due = started
        next_report = started + 5
        while True:
            due += self.rng.expovariate(action_rate)
            if due - started >= seconds or (stop is not None and stop.is_set()):
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.in_flight >= self.max_in_flight:  # the server has stopped answering: count, don't pile up
                self.dropped[tag] += 1
                continue
            task = asyncio.create_task(self.action(self.rng.choices(names, weights)[0], tag, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if progress and time.monotonic() >= next_report:
                next_report += 5
                done = [h for h in self.hits if h.tag == tag]
                late = [h.latency for h in done[-500:]]
                p95 = reporting.percentile(late, 95) * 1000 if late else 0.0
                log(f"  {tag}: {time.monotonic() - started:4.0f}/{seconds:.0f} s, {len(done)} answered, "
                    f"{self.in_flight} in flight, recent p95 {p95:.0f} ms")
        elapsed = time.monotonic() - started
        if tasks:
            await asyncio.wait(tasks, timeout=self.args.timeout * (self.args.retries + 2) + 40)
        return elapsed

def _texted_code(token: str, patience: float, close: bool = False) -> str | None:
    """The code texted for a challenge, read from the SMS outbox (bench/booking.py's proof step), retried while
    the database is unreachable (as a phone waits for the text)."""
    from django.db import connection

    from bench.booking import texted_codes

    deadline = time.monotonic() + patience
    while True:
        try:
            code = texted_codes([token]).get(token)
            if code:
                return code
        except Exception:  # noqa: BLE001 - the database is down or restarting: wait and ask again
            with contextlib.suppress(Exception):
                connection.close()
        finally:
            if close:  # a thread that is about to end (tests): leave no connection behind
                connection.close()
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)

async def health_closed_loop(base: str, n: int, clients: int) -> tuple[int, float, list[float], Counter]:
    import aiohttp

    statuses: Counter = Counter()
    latencies: list[float] = []
    remaining = iter(range(n))
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=clients)) as session:
        async def one() -> None:
            for _ in remaining:
                started = time.perf_counter()
                try:
                    async with session.get("/health/") as response:
                        await response.read()
                        statuses[response.status] += 1
                except aiohttp.ClientError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return n, elapsed, latencies, statuses

def hits_summary(hits: list[Hit]) -> dict:
    latencies = [h.latency for h in hits]
    statuses = Counter(h.status if h.status is not None else h.error for h in hits)
    out = {
        "n": len(hits), "ok": sum(h.ok for h in hits),
        "errors": sum(not h.ok for h in hits), "statuses": statuses,
        "s503_retry_after": sum(h.status == 503 and h.retry_after for h in hits),
        "s503_bare": sum(h.status == 503 and not h.retry_after for h in hits),
        "s500": sum(h.status == 500 for h in hits),
        "s5xx_other": sum(h.status is not None and h.status > 500 and h.status != 503 for h in hits),
        "s4xx": sum(h.status is not None and 400 <= h.status < 500 and not h.ok for h in hits),
        "connection": sum(h.status is None for h in hits),
    }
    if latencies:
        out.update({f"p{p}": reporting.percentile(latencies, p) * 1000 for p in (50, 95, 99)})
        out["max"] = max(latencies) * 1000
    else:
        out.update(p50=0.0, p95=0.0, p99=0.0, max=0.0)
    return out

def error_samples(hits: list[Hit], limit: int = 3) -> list[str]:
    seen: Counter = Counter()
    samples = []
    for h in hits:
        if h.ok:
            continue
        key = (h.kind, h.status)
        seen[key] += 1
        if seen[key] == 1 and len(samples) < limit:
            samples.append(f"{h.kind} {h.status or h.error}: {h.error[:120]!r}")
    return samples


@dataclass
class Episode:
    name: str
    started: float
    back: float  # when the part was serving again (a kill: the moment of the kill)
    note: str = ""
