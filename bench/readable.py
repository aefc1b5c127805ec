#!/usr/bin/env python
"""Readable again (issue 26): the pages' bent code against ordinary Django, CPU per page, side by side in one run.

Four parts were bent for CPU per request before the page cache existed: the form renderer (plain widgets written
out in Python, web/form_renderer.py), and the `field_row`, `slot_rows` and `session_cards` tags (HTML built in
Python). The ordinary versions: Django's own renderer (its widget templates), and inclusion tags over a template
(web/volunteer/_field.html, _slot_rows.html, and the cards' template in bench/readable_sides.py). The app holds
the side the measurement chose for each part, bench/readable_sides.py the other. In one
process (bench/request_cpu.py's data, WSGI calls of the production stack, DEBUG off), each configuration is
switched in place (the form renderer setting, the tag in volunteer_tags' library, the template cache reset):

  bent           all four bent (the code before: the baseline)
  +renderer      all bent but the form renderer ordinary     (and +field_row, +slot_rows, +cards likewise)
  ordinary       all four ordinary (the code now)

and every configuration renders the same pages in turn, round by round, with the page cache off (a render):
`/` (the search form), `/find/?postcode=` (the form and the cards), `/s/<id>/` (the slot rows) and
`/s/<id>/book/?slot=` (the booking form, never cached). The same URLs go to every configuration of a round.
Once per round, with the page cache on, the cost of a hit on the cached pages, and the kinds no part touches
(the search API, a booking and its proof). CPU is this process's (time.process_time): PostgreSQL's share does
not depend on the templates.

The mix (bench.load's weights: 35% results pages, 35% search API, 20% session pages, 10% bookings of two
requests) costs per request, with a share h of the cacheable answers served from the cache,
(1 - h) x render + h x hit for each cached kind; the table gives it at h = 0 (cache off), at the share
bench/load recorded for the skewed mix (27%) and at 90%. The rule (issue 26): a part goes back to ordinary
Django when the mix does not feel it (its cost under 5% of the mix's CPU).

Before timing, each configuration's HTML of every page is compared with the bent one's (whitespace between
tags aside; the CSRF token masked): a difference is printed and the run exits non-zero.

  .venv/bin/python bench/readable.py --sessions 20000 --requests 100 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_readable"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
PARTS = ("renderer", "field_row", "slot_rows", "cards")
CONFIGS = {"bent": (), **{f"+{part}": (part,) for part in PARTS}, "ordinary": PARTS}
PAGES = ("home", "search_page", "session_page", "book_form")
CACHED = ("search_page", "session_page", "search_api")
# bench.load's mix per request (bench/request_cpu.py's MIX_WEIGHTS).
MIX_WEIGHTS = {"search_page": 0.35, "search_api": 0.35, "session_page": 0.20, "book": 0.10, "proof": 0.10}
HIT_SHARES = (0.0, 0.27, 0.90)
RULE = 0.05


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the sessions already in the database if there are exactly --sessions of them.")
    parser.add_argument("--postcodes", type=int, default=2000)
    parser.add_argument("--booking-sessions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100, help="Timed requests per page, configuration, round.")
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[readable] {message}", file=sys.stderr, flush=True)


class Switch:
    """Puts the bent or the ordinary version of each part in place in this process."""

    def __init__(self):
        from django import template

        from bench import readable_sides as sides
        from web.templatetags import volunteer_tags

        self.library = volunteer_tags.register
        for helper in (sides.slot_when_near, sides.seat_in_short):  # the ordinary cards' own tags
            self.library.simple_tag(helper)
        made = template.Library()
        made.simple_tag(sides.field_row)
        made.simple_tag(sides.slot_rows)
        made.inclusion_tag(sides.cards_template())(sides.session_cards)
        app = self.library.tags
        self.tags = {  # part: (tag name, bent, ordinary)
            "field_row": ("field_row", made.tags["field_row"], app["field_row"]),
            "slot_rows": ("slot_rows", made.tags["slot_rows"], app["slot_rows"]),
            "cards": ("session_cards", app["session_cards"], made.tags["session_cards"]),
        }

    def use(self, ordinary_parts: tuple[str, ...]) -> None:
        from django.conf import settings
        from django.forms.renderers import get_default_renderer
        from django.template import engines

        settings.FORM_RENDERER = ("django.forms.renderers.DjangoTemplates" if "renderer" in ordinary_parts
                                  else "web.form_renderer.FormRenderer")
        get_default_renderer.cache_clear()
        for part, (name, bent, ordinary) in self.tags.items():
            self.library.tags[name] = ordinary if part in ordinary_parts else bent
        for loader in engines["django"].engine.template_loaders:
            loader.reset()  # templates compiled with the other tag


def page_urls(data: dict, rng: random.Random, n: int) -> dict[str, list[str]]:
    return {
        "home": ["/"] * n,
        "search_page": [f"/find/?postcode={rng.choice(data['postcodes']).replace(' ', '+')}" for _ in range(n)],
        "session_page": [f"/s/{rng.choice(data['session_ids'])}/" for _ in range(n)],
        "book_form": [f"/s/{session}/book/?slot={slot}" for session, slot in
                      (rng.choice(data["session_slots"]) for _ in range(n))],
    }


def normalised(body: bytes) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', body.decode())
    return re.sub(r">\s+<", "><", text)


def same_html(wsgi, switch: Switch, urls: list[str]) -> list[str]:
    """The pages' HTML under each configuration against the bent one's: the differences found."""
    seen: dict[str, str] = {}
    problems = []
    for config, parts in CONFIGS.items():
        switch.use(parts)
        for url in urls:
            status, body = wsgi.call("GET", url)
            html = normalised(body)
            if status != 200:
                problems.append(f"{config} {url}: {status}")
            elif url not in seen:
                seen[url] = html
            elif html != seen[url]:
                at = next(i for i, (a, b) in enumerate(zip(seen[url], html, strict=False)) if a != b)
                problems.append(f"{config} {url}: differs at {at}: {seen[url][at - 80:at + 80]!r} vs "
                                f"{html[at - 80:at + 80]!r}")
    return problems


def cpu_ms(wsgi, urls: list[str]) -> float:
    started = time.process_time()
    for url in urls:
        wsgi.call("GET", url)
    return (time.process_time() - started) / len(urls) * 1000


def hit_ms(wsgi, urls: list[str]) -> float:
    """CPU of a hit: each URL asked for until stored (PAGE_CACHE_ADMIT_AFTER), then timed once more."""
    for url in urls:
        for _ in range(3):
            wsgi.call("GET", url)
    return cpu_ms(wsgi, urls)


def mix_ms(cost: dict[str, float], hit: dict[str, float], share: float) -> float:
    total = 0.0
    for kind, weight in MIX_WEIGHTS.items():
        total += weight * ((1 - share) * cost[kind] + share * hit[kind] if kind in CACHED else cost[kind])
    return total / sum(MIX_WEIGHTS.values())


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.load import RAISED_LIMITS, data_prepare

    os.environ.update({**RAISED_LIMITS, "RATE_LIMITS_ENABLED": "true", "DEBUG": "false",
                       "SMS_RATE_PER_SECOND": "0", "CELERY_TASK_ALWAYS_EAGER": "false",
                       "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "PAGE_CACHE_ENABLED": "true"})
    os.environ.pop("SMS_BACKEND", None)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    data = data_prepare(argparse.Namespace(sessions=args.sessions, reuse=args.reuse, seed=args.seed,
                                           booking_sessions=args.booking_sessions, postcodes=args.postcodes),
                        dataset.shared_data_dir())
    from django.conf import settings
    from django.db import connection

    from bench.request_cpu import Mix, Wsgi, queue_empty, timed
    from sessions.models import Slot

    rng = random.Random(args.seed)
    data["session_slots"] = list(Slot.objects.filter(session_id__in=rng.sample(data["session_ids"], 500))
                                 .values_list("session_id", "id"))
    connection.close()  # the application's requests open their own, as under gunicorn
    info = reporting.machine_info()
    wsgi, switch = Wsgi(), Switch()
    mix = Mix(wsgi, data, args.seed)
    renders = {config: {page: [] for page in PAGES} for config in CONFIGS}
    hits = {kind: [] for kind in CACHED}
    others = {kind: [] for kind in ("search_api", "book", "proof")}
    try:
        settings.PAGE_CACHE_ENABLED = False
        check = [urls[0] for urls in page_urls(data, random.Random(args.seed + 1), 3).values()]
        check += [urls[1] for urls in page_urls(data, random.Random(args.seed + 2), 3).values()]
        problems = same_html(wsgi, switch, check)
        for problem in problems:
            log(problem)
        if problems:
            return 1
        log(f"same HTML in every configuration ({len(check)} pages)")
        for parts in CONFIGS.values():  # warm every configuration's templates and statements
            switch.use(parts)
            for urls in page_urls(data, random.Random(args.seed + 3), 20).values():
                cpu_ms(wsgi, urls)
        for round_ in range(args.rounds):
            urls = page_urls(data, random.Random(args.seed + 10 + round_), args.requests)
            order = list(CONFIGS)
            if round_ % 2:
                order.reverse()
            for page in PAGES:
                for config in order:
                    switch.use(CONFIGS[config])
                    cpu_ms(wsgi, urls[page][:3])  # the templates compiled again after the switch: untimed
                    renders[config][page].append(cpu_ms(wsgi, urls[page]))
            switch.use(PARTS)
            settings.PAGE_CACHE_ENABLED = True
            hit_urls = page_urls(data, random.Random(args.seed + 100 + round_), args.requests // 4)
            hits["search_page"].append(hit_ms(wsgi, hit_urls["search_page"]))
            hits["session_page"].append(hit_ms(wsgi, hit_urls["session_page"]))
            api = [url.replace("/find/?postcode=", "/api/sessions/?near=") for url in hit_urls["search_page"]]
            hits["search_api"].append(hit_ms(wsgi, api))
            settings.PAGE_CACHE_ENABLED = False
            for kind in others:
                others[kind].append(timed(mix, kind, args.requests // 2)[0])
            log(f"round {round_ + 1}: " + ", ".join(
                f"{config} {sum(renders[config][page][-1] for page in PAGES):.1f}" for config in CONFIGS))
    finally:
        queue_empty(args.redis_url)
    median = statistics.median
    print(reporting.machine_line(info))
    print()
    print(f"`python bench/readable.py --sessions {args.sessions} --requests {args.requests} --rounds {args.rounds}`")
    print()
    rows = []
    base = {page: median(renders["bent"][page]) for page in PAGES}
    for config in CONFIGS:
        cells = []
        for page in PAGES:
            value = median(renders[config][page])
            paired = median(a - b for a, b in zip(renders[config][page], renders["bent"][page], strict=True))
            cells.append(f"{value:.2f}" if config == "bent" else f"{value:.2f} ({paired:+.2f})")
        rows.append([config, *cells])
    print(reporting.markdown_table(["configuration (in brackets: median of the rounds' differences to bent)",
                                    *[f"{page} CPU ms (median of rounds)" for page in PAGES]], rows))
    print()
    hit = {kind: median(values) for kind, values in hits.items()}
    other = {kind: median(values) for kind, values in others.items()}
    print("Hits (cache on): " + ", ".join(f"{kind} {value:.2f} ms" for kind, value in hit.items())
          + "; uncached kinds: " + ", ".join(f"{kind} {value:.2f} ms" for kind, value in other.items()))
    print()
    rows = []
    for config in CONFIGS:
        cost = {**other, "search_page": median(renders[config]["search_page"]),
                "session_page": median(renders[config]["session_page"])}
        bent_cost = {**other, "search_page": base["search_page"], "session_page": base["session_page"]}
        cells = []
        for share in HIT_SHARES:
            now, before = mix_ms(cost, hit, share), mix_ms(bent_cost, hit, share)
            cells.append(f"{now:.2f}" if config == "bent" else f"{now:.2f} ({(now - before) / before:+.1%})")
        rows.append([config, *cells])
    print(reporting.markdown_table(["configuration", *[f"mix CPU ms/request, h = {share:.0%}" for share in HIT_SHARES]],
                                   rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
