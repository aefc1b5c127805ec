"""Attacker replays over HTTP against the live server: holds that could freeze a weekend, and moving between slots.

(a) One address floods an 8-place slot with booking requests for invented mobiles: the places are held only while
the codes work, and a proven volunteer gets in even while they do.
(b) One booking, its code typed, then its private link walked across every slot: refused outside the slots the
move page offers, and 429 once the phone's move limit is spent.
"""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from notify.email.models import EmailMessage
from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, texted_code
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    """timezone.now, pinned and moved forward by the test: the live server runs in this process (no sleeping)."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def forward(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def area(db):
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    return MeetingPointFactory(seat=seat, postcode="S10 1AA")


def _request(base: str, slot_id: int, phone: str) -> requests.Response:
    return requests.post(f"{base}/api/slots/{slot_id}/bookings/", json={
        "name": "Nobody", "phone": phone, "postcode": "S10 1AA", "consent_sms": True}, timeout=30)


def _verify(base: str, token: str) -> requests.Response:
    return requests.post(f"{base}/api/challenges/{token}/verify/", json={"code": texted_code(token)}, timeout=30)


def test_invented_numbers_from_one_address_do_not_freeze_a_slot(live_server, area, monkeypatch, settings):
    clock = Clock(monkeypatch)
    slot = SlotFactory(session__meeting_point=area, capacity=8)
    answers = [_request(live_server.url, slot.pk, f"07400 9{n:05d}") for n in range(18)]
    assert [answer.status_code for answer in answers] == [202] * 18
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 8  # the flood holds every place...

    # ...but a real volunteer who types their code gets in while the flood's codes still work.
    real = _request(live_server.url, slot.pk, "07400 123456").json()["challenge"]
    proven = _verify(live_server.url, real)
    assert proven.status_code == 200 and proven.json()["status"] == "confirmed"

    # Past the code lifetime the flood holds nothing: the next request gets a place, no sweep needed.
    clock.forward(settings.UNPROVEN_HOLD_MAX_MINUTES + 1)
    late = _request(live_server.url, slot.pk, "07400 654321").json()["challenge"]
    assert Booking.objects.get(challenges__token=late).status == "confirmed"
    slot.refresh_from_db()
    assert slot.confirmed_count <= slot.capacity
    assert Booking.objects.filter(slot=slot, status="confirmed").count() == slot.confirmed_count


def test_a_private_link_cannot_harvest_every_front_room(live_server, area, ratelimit_clock):
    home = SlotFactory(session__meeting_point=area, capacity=8)
    same_session = [SlotFactory(session=home.session, starts_at=home.ends_at + timedelta(hours=n),
                                ends_at=home.ends_at + timedelta(hours=n + 1), capacity=8) for n in range(4)]
    elsewhere = [SlotFactory(capacity=8) for _ in range(6)]  # other seats: not the move page's choices
    token = _request(live_server.url, home.pk, "07400 111222").json()["challenge"]
    link = _verify(live_server.url, token).json()["manage_token"]
    texts_before = SmsMessage.objects.filter(to="+447400111222").count()

    statuses = []
    for slot in elsewhere + same_session:
        answer = requests.post(f"{live_server.url}/api/bookings/{link}/swap/", json={"slot": slot.pk}, timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code == 400:
            assert answer.json()["error"]["code"] == "slot_not_offered"
            assert "slot" in answer.json()["error"]["fields"]
        if answer.status_code == 200:
            link = answer.json()["manage_token"]
    assert statuses[:6] == [400] * 6
    assert statuses[6:] == [200, 200, 200, 429]  # move_phone: 3 an hour
    assert not Booking.objects.filter(slot__in=elsewhere).exists()
    assert SmsMessage.objects.filter(to="+447400111222").count() - texts_before <= 3
    assert not EmailMessage.objects.filter(host__isnull=False, kind="host_cancelled").exists()  # one session
