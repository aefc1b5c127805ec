"""Attacks by someone who signs up as a host, replayed over HTTP against the live server (docs/threat-model.md:
"Pinning a front room by its postcode or distances" and "Vetting hosts")."""

from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone

from notify.email.models import EmailMessage
from sessions.models import CanvassSession, MeetingPoint
from sessions.services import meeting_point_create, session_create
from tests.factories import PostcodeFactory, SeatFactory, UserFactory, book, token_for

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM_POSTCODE = "S10 2TN"
CROYDON_POSTCODE = "CR0 1AA"


@pytest.fixture
def world(db):
    hallam = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam", priority=1)
    croydon = SeatFactory(ons_code="E14000654", name="Croydon Central", priority=5)
    PostcodeFactory(postcode=VICTIM_POSTCODE, lat=53.3811, lng=-1.4882, seat=hallam)
    PostcodeFactory(postcode="S10 2TP", lat=53.3815, lng=-1.4890, seat=hallam)
    PostcodeFactory(postcode=CROYDON_POSTCODE, lat=51.3762, lng=-0.0982, seat=croydon)
    victim = UserFactory(username="victim")
    room = meeting_point_create(host=victim, name="Victim's room", address="27 Psalter Lane",
                                postcode=VICTIM_POSTCODE, capacity=10)
    start = timezone.now() + timedelta(days=2)
    session_create(user=victim, meeting_point=room, title="Victim's doors",
                   slots=[{"starts_at": start, "ends_at": start + timedelta(hours=2), "capacity": 4}])
    return {"hallam": hallam, "croydon": croydon, "victim_room": room}


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def _attacker(base: str, email: str = "stranger@example.org", username: str = "mallory") -> requests.Session:
    """A host account signed up over the API; the session sends its token."""
    response = requests.post(f"{base}/api/auth/signup/", json={
        "username": username, "email": email, "password": "a-long-pass-phrase-7"}, timeout=10)
    assert response.status_code == 201, response.text
    http = requests.Session()
    http.headers["Authorization"] = f"Token {response.json()['token']}"
    return http


def _room(http, base, postcode):
    response = http.post(f"{base}/api/meeting-points/", json={
        "name": "Probe", "address": "1 Probe Road", "postcode": postcode, "capacity": 5}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _session_body(room_id, **extra):
    start = timezone.now() + timedelta(days=3)
    return {"meeting_point": room_id, "title": "Probe doors", "slots": [
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 3}],
        **extra}


def test_a_probe_room_at_the_victims_postcode_learns_nothing_of_the_victim(live_server, world):
    base = live_server.url
    http = _attacker(base)
    victim = world["victim_room"]
    answers = {}
    for postcode in (VICTIM_POSTCODE, "S10 2TP"):  # the victim's, and an empty one next door
        room = _room(http, base, postcode)
        created = http.post(f"{base}/api/sessions/", json=_session_body(room["id"]), timeout=10).json()
        read = http.get(f"{base}/api/meeting-points/{room['id']}/", timeout=10).json()
        answers[postcode] = (room, read, created)
        text = str(room) + str(read) + str(created)
        assert "public_lat" not in text and "public_lng" not in text
        for value in (victim.public_lat, victim.public_lng):
            assert repr(value) not in text and f"{value:.4f}" not in text
    # The same answer, field by field, whether or not somebody hosts at that postcode.
    assert sorted(answers[VICTIM_POSTCODE][1]) == sorted(answers["S10 2TP"][1])
    probe = MeetingPoint.objects.get(pk=answers[VICTIM_POSTCODE][0]["id"])
    assert (probe.public_lat, probe.public_lng) != (victim.public_lat, victim.public_lng)


def test_an_unverified_host_gets_no_email_but_the_link(live_server, world, outbox):
    base = live_server.url
    http = _attacker(base, email="stranger@example.org")
    room = _room(http, base, "S10 2TP")
    session = http.post(f"{base}/api/sessions/", json=_session_body(room["id"], title="Win a prize at evil.example"),
                        timeout=10).json()
    coordinator = UserFactory(username="coord", is_staff=True)
    approved = requests.post(f"{base}/api/reviews/{session['id']}/approve/",
                             headers={"Authorization": f"Token {token_for(coordinator)}"}, timeout=10)
    assert approved.status_code == 200
    slot = CanvassSession.objects.get(pk=session["id"]).slots.get()
    book(slot, proven=True, postcode="S10 2TP")
    assert not EmailMessage.objects.filter(host__username="mallory").exists()
    to_stranger = [message for message in outbox if "stranger@example.org" in message.to]
    assert len(to_stranger) == 1 and "/host/email/confirm/" in to_stranger[0].body  # the link alone
    assert all("evil" not in message.subject + message.body for message in to_stranger)


def test_a_new_hosts_session_is_not_public_until_an_organiser_approves_it(live_server, world):
    base = live_server.url
    http = _attacker(base)
    room = _room(http, base, "S10 2TP")
    created = http.post(f"{base}/api/sessions/", json=_session_body(room["id"]), timeout=10)
    assert created.status_code == 201 and created.json()["status"] == "review"
    session_id = created.json()["id"]
    assert requests.get(f"{base}/api/sessions/{session_id}/", timeout=10).status_code == 404
    assert requests.get(f"{base}/s/{session_id}/", timeout=10).status_code == 404
    for query in ({}, {"near": VICTIM_POSTCODE}, {"seat": "E14000922"}):
        results = requests.get(f"{base}/api/sessions/", params=query, timeout=10).json()["results"]
        assert session_id not in [row["id"] for row in results]
    assert http.post(f"{base}/api/reviews/{session_id}/approve/", timeout=10).status_code == 404  # not themselves
    coordinator = UserFactory(username="coord", is_staff=True)
    requests.post(f"{base}/api/reviews/{session_id}/approve/",
                  headers={"Authorization": f"Token {token_for(coordinator)}"}, timeout=10)
    assert requests.get(f"{base}/api/sessions/{session_id}/", timeout=10).status_code == 200


def test_a_croydon_room_cannot_be_labelled_sheffield_hallam(live_server, world):
    base = live_server.url
    http = _attacker(base)
    room = _room(http, base, CROYDON_POSTCODE)
    assert room["seat"] == "E14000654"
    labelled = http.post(f"{base}/api/sessions/", json=_session_body(room["id"], seat="E14000922"), timeout=10)
    assert labelled.status_code == 400 and "seat" in labelled.json()["error"]["fields"]
    plain = http.post(f"{base}/api/sessions/", json=_session_body(room["id"]), timeout=10).json()
    assert plain["seat"]["ons_code"] == "E14000654"
    relabelled = http.patch(f"{base}/api/sessions/{plain['id']}/", json={"seat": "E14000922"}, timeout=10)
    assert relabelled.status_code == 400
    assert CanvassSession.objects.get(pk=plain["id"]).seat_id == "E14000654"
