"""Attacker replay, over HTTP against the live server: one phone books one slot, proves it, then tries to collect
every front room's address by swapping through and booking many sessions. The meter (volunteers.disclosure)
lets it see at most DISCLOSURE_MAX_ROOMS_PER_DAY distinct rooms, by any path (API answers, booking pages, the
texts to its phone), and the coordinators get an alert for the phone.

The other limits (rate limits per phone and IP) are switched off: this replays the harvest they would only slow."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from notify.sms.models import SmsMessage
from tests.factories import (
    CanvassSessionFactory,
    MeetingPointFactory,
    PostcodeFactory,
    SeatFactory,
    SlotFactory,
    texted_code,
)
from volunteers.models import FrontRoomHold

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+447400555001"
BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"}
SESSIONS = 10


def _addresses(n: int, seat) -> list[tuple[object, str]]:
    """n sessions, each in its own front room with its own address, on n different days."""
    made = []
    for i in range(n):
        address = f"{100 + i} Harvest Road"
        point = MeetingPointFactory(seat=seat, address=address, host_first_name=f"Host{i}")
        starts = timezone.now() + timedelta(days=2 + i)
        session = CanvassSessionFactory(meeting_point=point, starts_at=starts, ends_at=starts + timedelta(hours=2))
        made.append((SlotFactory(session=session, turf=f"Turf {i}"), address))
    return made


def _seen(text: str, addresses: list[str]) -> set[str]:
    return {address for address in addresses if address in text}


def test_one_phone_cannot_harvest_front_rooms_by_swaps_and_bookings(live_server, settings, locmem_sms):
    settings.RATE_LIMITS_ENABLED = False
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slots = _addresses(SESSIONS, seat)
    addresses = [address for _, address in slots]
    api = f"{live_server.url}/api"
    http = requests.Session()
    http.headers.update(BROWSER)
    seen: set[str] = set()

    asked = http.post(f"{api}/slots/{slots[0][0].pk}/bookings/", json={
        "name": "Harvester", "phone": PHONE, "postcode": "S10 1AA", "consent_sms": True}, timeout=30)
    assert asked.status_code == 202, asked.text
    challenge = asked.json()["challenge"]
    proven = http.post(f"{api}/challenges/{challenge}/verify/", json={"code": texted_code(challenge)}, timeout=30)
    assert proven.status_code == 200, proven.text
    seen |= _seen(proven.text, addresses)
    token = proven.json()["manage_token"]

    # Swap through half of the sessions, reading each new booking's answer and page.
    for slot, _address in slots[1:SESSIONS // 2]:
        moved = http.post(f"{api}/bookings/{token}/swap/", json={"slot": slot.pk}, timeout=30)
        if moved.status_code != 200:
            continue  # a refused swap shows nothing new
        seen |= _seen(moved.text, addresses)
        token = moved.json()["manage_token"]
        seen |= _seen(http.get(f"{live_server.url}/b/{token}", timeout=30).text, addresses)
        seen |= _seen(http.get(f"{api}/bookings/{token}/", timeout=30).text, addresses)
        seen |= _seen(http.get(f"{live_server.url}/b/{token}/calendar.ics", timeout=30).text, addresses)

    # Then book the rest outright (each a new code texted to the same phone).
    for slot, _address in slots[SESSIONS // 2:]:
        asked = http.post(f"{api}/slots/{slot.pk}/bookings/", json={
            "name": "Harvester", "phone": PHONE, "postcode": "S10 1AA", "consent_sms": True}, timeout=30)
        if asked.status_code != 202:
            continue
        challenge = asked.json()["challenge"]
        proven = http.post(f"{api}/challenges/{challenge}/verify/", json={"code": texted_code(challenge)},
                           timeout=30)
        seen |= _seen(proven.text, addresses)
        if proven.status_code == 200:
            seen |= _seen(http.get(f"{live_server.url}/b/{proven.json()['manage_token']}", timeout=30).text,
                          addresses)

    # Everything texted to the phone counts too: a text is a disclosure to whoever holds it.
    for body in SmsMessage.objects.filter(to=PHONE).values_list("body", flat=True):
        seen |= _seen(body, addresses)

    assert 1 <= len(seen) <= settings.DISCLOSURE_MAX_ROOMS_PER_DAY, seen
    assert FrontRoomHold.objects.filter(volunteer__phone=PHONE, released_at__isnull=True).exists()
