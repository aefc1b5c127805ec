"""bench/load/'s client and its verification, at a tiny scale, so the benchmark cannot rot unnoticed.

Not a benchmark: nothing here is timed. The mix (results pages, API searches, session pages, bookings in two
steps with the code read from the outbox) runs open-loop for a few seconds against the live server, with a
real Celery worker sending the texts to the loopback Twilio; then the verification must find every booking
stored once and every text sent once, and must notice a booking that goes missing and a text sent twice.
"""

import argparse
import asyncio
import string
from datetime import timedelta

import pytest
from django.utils import timezone

from bench import load
from tests.factories import CanvassSessionFactory, MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
from tests.sms.conftest import TWILIO_SPEC, twilio_configure
from tools.fake_twilio import FakeTwilio


def _args(**overrides) -> argparse.Namespace:
    args = load.parse_args(["--seed", "14", "--retries", "1", "--timeout", "30"])
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


@pytest.fixture
def little_country(db):
    """One seat, 26 postcodes, 3 sessions of 2 slots with 2 places each (so bookings also waitlist)."""
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    postcodes = [PostcodeFactory(postcode=f"S10 1A{letter}", seat=seat, lat=53.38 + i / 1000, lng=-1.50).postcode
                 for i, letter in enumerate(string.ascii_uppercase)]
    sessions, slots = [], []
    for day in (1, 2, 3):
        room = MeetingPointFactory(seat=seat)
        start = timezone.now() + timedelta(days=day)
        session = CanvassSessionFactory(meeting_point=room, starts_at=start, ends_at=start + timedelta(hours=4))
        sessions.append(session.pk)
        slots += [SlotFactory(session=session, starts_at=start + timedelta(hours=h),
                              ends_at=start + timedelta(hours=h + 2), capacity=2).pk for h in (0, 2)]
    return postcodes, sessions, slots


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio(spec=TWILIO_SPEC).start()
    yield fake
    fake.stop()


@pytest.mark.django_db(transaction=True)
def test_load_mix_books_and_the_verification_counts_every_booking_and_text(
        little_country, live_server, celery_worker, fake_twilio, settings):
    twilio_configure(settings, fake_twilio.url)
    postcodes, sessions, slots = little_country

    async def drive() -> load.Client:
        async with load.Client(_args(), live_server.url, postcodes, sessions, slots) as client:
            client.close_connections = True  # the lookups' threads end with the run
            # Bookings are 10% of the mix: keep going until a few have been made (bounded).
            for _ in range(6):
                await client.open_loop(40, 1.5, "test", progress=False)
                if len(client.bookings) >= 4:
                    break
            return client

    client = asyncio.run(drive())
    assert len(client.bookings) >= 4
    kinds = {hit.kind for hit in client.hits}
    assert {"search_page", "search_api", "session_page", "book", "proof"} <= kinds
    assert all(hit.ok for hit in client.hits), load.error_samples(client.hits)
    left = None
    for _ in range(60):  # the worker's sends, bounded
        _, left = load.outbox_settle(1.0)
        if left == 0:
            break
    assert left == 0

    checked = load.verify(client, [dict(m) for m in fake_twilio.messages], fake_twilio.contract_violations)
    assert load.verification_problems(checked) == []
    assert checked["seen_2xx"] == len(client.bookings) == checked["bookings_stored"]
    assert checked["proven_seen"] == len(client.bookings)
    assert checked["sms_received"] == checked["sms_rows"] >= len(client.bookings)
    summary = load.hits_summary(client.hits)
    assert summary["errors"] == 0 and summary["n"] == len(client.hits)

    # The checks bite: a booking that disappears is lost, a text Twilio got twice is doubled.
    from volunteers.models import Booking

    gone = client.bookings[0]
    Booking.objects.filter(volunteer__phone=gone.phone, slot_id=gone.slot_id).delete()
    received = [dict(m) for m in fake_twilio.messages]
    received.append(dict(received[-1]))
    broken = load.verify(client, received, [])
    assert broken["lost"] == 1
    assert broken["sms_doubled"] >= 1
    assert "1 bookings lost" in load.verification_problems(broken)
