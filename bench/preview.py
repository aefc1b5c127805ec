#!/usr/bin/env python
"""Session link previews (web/preview.py): what drawing costs, and what the cache saves.

In process, through Django's test client (no server: the point is the view's own cost), on its own database
(default frontroom_bench_preview, one seat, one front room and one session made by the script) and Redis db 11
as the cache. Interleaved rounds of:

  - draw:        preview_png(preview_text(session)), what a cache miss costs (Pillow, a 16-colour PNG);
  - the same picture saved in full colour, the baseline the palette replaced;
  - /s/<id>/preview.png from the cache (the drawing done once);
  - the same with If-None-Match: the 304 a link-preview fetcher or browser that has the picture gets;
  - /s/<id>/, the session page itself, as the baseline.

Prints a markdown block; --write puts it in BENCHMARKS.md under "## Session link previews (sharing)".
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, reporting  # noqa: E402

SECTION = "Session link previews"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/frontroom_bench_preview"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reporting.add_common_args(parser)
    parser.set_defaults(database_url=DEFAULT_DATABASE_URL)
    parser.add_argument("--rounds", type=int, default=40, help="Interleaved rounds (default: %(default)s).")
    parser.add_argument("--per-round", type=int, default=10, help="Requests per case per round (default: %(default)s).")
    return parser.parse_args(argv)


def session_make():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from seats.models import Seat
    from sessions.models import CanvassSession, MeetingPoint, Slot

    seat, _ = Seat.objects.get_or_create(ons_code="E14099999", defaults={
        "name": "Benchmark Hallam and Crookes", "nation": "England", "region": "Yorkshire and The Humber",
        "lat": 53.38, "lng": -1.5})
    host, _ = get_user_model().objects.get_or_create(username="bench-preview-host")
    room = MeetingPoint.objects.create(host=host, name="Front room", address="1 Bench Street", postcode="S10 1AA",
                                       lat=53.38, lng=-1.5, public_lat=53.381, public_lng=-1.501, seat=seat,
                                       capacity=8)
    start = timezone.now() + timedelta(days=3)
    session = CanvassSession.objects.create(
        meeting_point=room, seat=seat, title="Saturday morning doors around Crookes and Walkley, tea after",
        lat=53.381, lng=-1.501, postcode_district="S10", starts_at=start, ends_at=start + timedelta(hours=4))
    Slot.objects.create(session=session, starts_at=start, ends_at=start + timedelta(hours=2), capacity=6)
    return session


def main(argv=None) -> None:
    args = parse_args(argv)
    dataset.django_setup(database_url=args.database_url, redis_url=args.redis_url)
    from django.core.cache import caches
    from django.test import Client

    from web import preview

    info = reporting.machine_info()
    session = session_make()
    client = Client(HTTP_HOST="127.0.0.1")
    png = preview.preview_png(preview.preview_text(session))
    page_url, image_url = f"/s/{session.pk}/", f"/s/{session.pk}/preview.png"
    first = client.get(image_url)
    assert first.status_code == 200, first.status_code
    etag = first["ETag"]
    from PIL import Image

    def draw_full_colour():
        # The baseline: the same picture saved in full colour (what the palette replaced).
        quantize = Image.Image.quantize
        Image.Image.quantize = lambda self, *args, **kwargs: self
        try:
            return preview.preview_png(preview.preview_text(session))
        finally:
            Image.Image.quantize = quantize

    full_colour = draw_full_colour()
    samples = {"draw": [], "full_colour": [], "cached": [], "not_modified": [], "page": []}
    for _ in range(args.rounds):
        for _ in range(max(1, args.per_round // 5)):
            started = time.perf_counter()
            preview.preview_png(preview.preview_text(session))
            samples["draw"].append(time.perf_counter() - started)
            started = time.perf_counter()
            draw_full_colour()
            samples["full_colour"].append(time.perf_counter() - started)
        for _ in range(args.per_round):
            started = time.perf_counter()
            assert client.get(image_url).status_code == 200
            samples["cached"].append(time.perf_counter() - started)
            started = time.perf_counter()
            assert client.get(image_url, headers={"If-None-Match": etag}).status_code == 304
            samples["not_modified"].append(time.perf_counter() - started)
            started = time.perf_counter()
            assert client.get(page_url).status_code == 200
            samples["page"].append(time.perf_counter() - started)
    cache_backend = type(caches['default']).__name__
    rows = []
    names = {"draw": "draw the PNG (a cache miss)", "full_colour": "the same in full colour (baseline)", "cached": "`/s/<id>/preview.png` from the cache",
             "not_modified": "the same, `If-None-Match` → 304", "page": "`/s/<id>/` (baseline)"}
    for key, label in names.items():
        s = reporting.summary_ms(samples[key])
        rows.append([label, s["n"], f"{s['p50']:.2f}", f"{s['p95']:.2f}"])
    body = "\n\n".join([
        "`bench/preview.py`, in process through Django's test client (no HTTP server), interleaved rounds.",
        reporting.machine_line(info),
        f"Cache: {cache_backend}. PNG size: {len(png):,} bytes (1200×630, 16 colours); in full colour "
        f"{len(full_colour):,} bytes.",
        reporting.markdown_table(["case", "n", "p50 ms", "p95 ms"], rows),
    ])
    print(f"## {SECTION}\n\n{body}")
    if args.write:
        reporting.benchmarks_section_write(SECTION, body)


if __name__ == "__main__":
    main()
