"""Attacker replay, over HTTP against the live server: a host signs up, posts a session and books it with a known
volunteer's number, then edits the address and reschedules. The host must learn nothing stored about the number
(no name, no email, no number, not where its owner is booked) and text nobody who has not proven their phone."""

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import requests
from django.utils import timezone

from notify.sms.models import SmsMessage
from sessions.vetting import session_approve
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory, UserFactory, book

VICTIM = "+447400555987"
VICTIM_NATIONAL = "07400 555987"
PASSWORD = "a-long-attacker-password-9"


class _Form(HTMLParser):
    """The fields of the page's form with method post, as a browser would send them (no JavaScript needed)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields[name] = attrs.get("value") or ("on" if attrs.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def _iso(moment) -> str:
    return moment.isoformat()


@pytest.fixture
def victim(transactional_db, settings):
    """Victoria booked (and proved) a place on somebody else's session, with her name and email."""
    settings.RATE_LIMITS_ENABLED = False  # the replay is about what is shown, not about limits
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    room = MeetingPointFactory(host=UserFactory(username="realhost"), seat=seat, postcode="S10 1AA")
    # At 10:00 local time: the host's form edits a session as one date and times, so slots from a start late in the
    # evening (and the decoy's, three hours after) would cross midnight and the form would refuse them.
    starts = timezone.localtime(timezone.now() + timedelta(days=4)).replace(hour=10, minute=0, second=0, microsecond=0)
    slot = SlotFactory(session__meeting_point=room, session__title="Victoria's canvass", starts_at=starts,
                       ends_at=starts + timedelta(hours=2), capacity=5)
    return book(slot, VICTIM, name="Victoria Stored-Name", email="victoria@example.org", proven=True)


def vetting_pass(session_id: int) -> None:
    session_approve(user=UserFactory(username="busy-organiser", is_staff=True), session_id=session_id)


def test_a_host_cannot_use_their_own_session_as_a_reverse_phone_directory(live_server, victim):
    base = live_server.url
    api = requests.Session()
    signed = api.post(f"{base}/api/auth/signup/", json={"username": "mallory", "email": "m@example.org",
                                                        "password": PASSWORD, "first_name": "Mal"}, timeout=30)
    assert signed.status_code == 201, signed.text
    api.headers["Authorization"] = f"Token {signed.json()['token']}"
    room = api.post(f"{base}/api/meeting-points/", json={"name": "Mal's", "address": "1 Decoy Road",
                                                        "postcode": "S10 1AA", "capacity": 10}, timeout=30)
    assert room.status_code == 201, room.text
    at = victim.slot
    session = api.post(f"{base}/api/sessions/", json={"meeting_point": room.json()["id"], "title": "Decoy", "slots": [
        {"starts_at": _iso(at.starts_at), "ends_at": _iso(at.ends_at), "capacity": 5},  # when Victoria is out
        {"starts_at": _iso(at.ends_at + timedelta(hours=3)), "ends_at": _iso(at.ends_at + timedelta(hours=5)),
         "capacity": 5},
    ]}, timeout=30)
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    clashing, free = sorted(s["id"] for s in session.json()["slots"])
    # A new host's first session waits for an organiser (vetting); say one let it through, as one might.
    vetting_pass(session_id)

    answers = [requests.post(f"{base}/api/slots/{slot_id}/bookings/", json={
        "name": "Mallory Typed", "phone": VICTIM_NATIONAL, "postcode": "S10 1AA", "consent_sms": True}, timeout=30)
        for slot_id in (clashing, free)]
    assert [a.status_code for a in answers] == [202, 202]
    assert [sorted(a.json()) for a in answers] == [["challenge", "expires_at", "phone"]] * 2

    roster = api.get(f"{base}/api/sessions/{session_id}/bookings/", timeout=30)
    rows = {row["slot"]["id"]: row for row in roster.json()["results"]}
    assert set(rows) == {clashing, free}  # a clash gives a row like any other
    for row in rows.values():
        assert row["volunteer"] == {"name": "Mallory", "phone": "", "email": ""} and row["proven"] is False
    assert roster.json()["places"] == {"proven": 0, "unproven": 2}
    exported = api.get(f"{base}/api/sessions/{session_id}/bookings/?format=csv", timeout=30).text
    lines = list(csv.DictReader(io.StringIO(exported)))
    assert [(line["name"], line["phone"], line["email"], line["proven"]) for line in lines] == [
        ("Mallory", "", "", "no")] * 2
    for body in (roster.text, exported):
        assert "Victoria" not in body and "victoria@" not in body and "555987" not in body

    page = requests.Session()
    page.get(f"{base}/host/login/", timeout=30)
    logged = page.post(f"{base}/host/login/", data={"username": "mallory", "password": PASSWORD,
                                                    "csrfmiddlewaretoken": page.cookies["csrftoken"]},
                       headers={"Referer": f"{base}/host/login/"}, timeout=30)
    assert logged.status_code == 200 and "/host/login/" not in logged.url
    html = page.get(f"{base}/host/sessions/{session_id}/", timeout=30).text
    assert html.count("Mallory") >= 2 and "unproven" in html
    assert "Victoria" not in html and "victoria@" not in html and "555987" not in html

    # The host's words to the number: an address edit, then a reschedule through the page's own form.
    edited = api.patch(f"{base}/api/meeting-points/{room.json()['id']}/",
                       json={"address": "Go to Call 0900 555 0 NOW"}, timeout=30)
    assert edited.status_code == 200, edited.text
    form = _Form()
    form.feed(page.get(f"{base}/host/sessions/{session_id}/edit/", timeout=30).text)
    fields = form.fields
    row = next(key.removesuffix("-slot_id") for key, value in fields.items()
               if key.endswith("-slot_id") and value == str(free))
    fields[f"{row}-starts"], fields[f"{row}-ends"] = "20:00", "21:30"
    saved = page.post(f"{base}/host/sessions/{session_id}/edit/", data=fields,
                      headers={"Referer": f"{base}/host/sessions/{session_id}/edit/"}, timeout=30)
    assert saved.status_code == 200 and saved.url.rstrip("/").endswith(f"/host/sessions/{session_id}"), saved.url

    caused = SmsMessage.objects.filter(booking__slot__session_id=session_id,
                                       kind__in=["venue_moved", "slot_rescheduled"])
    assert {(m.kind, m.status, m.skip_reason) for m in caused} == {
        ("venue_moved", "skipped", "unproven"), ("slot_rescheduled", "skipped", "unproven")}
    # What reached Victoria's phone from the decoy session: only its two code texts, with no host's words but the
    # (short) title; and those never show the host anything.
    texts = (SmsMessage.objects.filter(to=VICTIM).exclude(status="skipped").exclude(booking=victim)
             .exclude(challenge__booking=victim))
    assert sorted(m.kind for m in texts) == ["phone_code", "phone_code"]
    assert not [m.body for m in texts if "0900" in m.body or "Go to" in m.body or "Decoy Road" in m.body]
