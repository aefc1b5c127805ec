"""A session's seat is the seat of its room's postcode (hosts cannot choose it), and a new host's sessions wait for
an organiser's check (sessions.vetting), through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import CanvassSession, HostStanding, VettingDecision
from sessions.services import meeting_point_create, meeting_point_update, session_copy, session_create
from tests.factories import PostcodeFactory, SeatFactory, UserFactory, api_client_for

pytestmark = pytest.mark.django_db


def _slots(days=2):
    start = timezone.now() + timedelta(days=days)
    return [{"starts_at": start, "ends_at": start + timedelta(hours=2), "capacity": 4}]


def _body(room_id, **extra):
    start = timezone.now() + timedelta(days=2)
    return {"meeting_point": room_id, "title": "Doors", "slots": [
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 4}], **extra}


@pytest.fixture
def croydon(db):
    seat = SeatFactory(ons_code="E14000654", name="Croydon Central", priority=5)
    PostcodeFactory(postcode="CR0 1AA", lat=51.3762, lng=-0.0982, seat=seat)
    return seat


@pytest.fixture
def hallam(db):
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam", priority=1)
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50, seat=seat)
    return seat


def test_a_room_takes_the_seat_of_its_postcode_and_so_do_its_sessions(croydon, hallam):
    host = UserFactory()
    room = meeting_point_create(host=host, name="Room", address="1 Road", postcode="CR0 1AA", capacity=6)
    assert room.seat_id == croydon.pk
    response = api_client_for(host).post("/api/sessions/", _body(room.pk, seat=hallam.pk), format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"]["seat"]
    session = session_create(user=host, meeting_point=room, title="Doors", slots=_slots())
    assert session.seat_id == croydon.pk


def test_a_host_cannot_move_a_session_to_another_seat_by_editing_it(croydon, hallam):
    host = UserFactory()
    room = meeting_point_create(host=host, name="Room", address="1 Road", postcode="CR0 1AA", capacity=6)
    session = session_create(user=host, meeting_point=room, title="Doors", slots=_slots())
    response = api_client_for(host).patch(f"/api/sessions/{session.pk}/", {"seat": hallam.pk}, format="json")
    assert response.status_code == 400 and "seat" in response.json()["error"]["fields"]
    session.refresh_from_db()
    assert session.seat_id == croydon.pk


def test_moving_the_room_moves_its_upcoming_sessions_to_the_new_seat_bar_a_coordinators_choice(croydon, hallam):
    host, coordinator = UserFactory(), UserFactory(is_staff=True)
    room = meeting_point_create(host=host, name="Room", address="1 Road", postcode="S10 1AA", capacity=6)
    derived = session_create(user=host, meeting_point=room, title="Doors", slots=_slots())
    central = SeatFactory(ons_code="E14000919", name="Sheffield Central")
    chosen = session_create(user=coordinator, meeting_point=room, title="Chosen", slots=_slots(), seat_code=central.pk)
    assert chosen.seat_set_by == coordinator
    meeting_point_update(user=host, meeting_point=room, postcode="CR0 1AA")
    derived.refresh_from_db()
    assert derived.seat_id == croydon.pk  # no Croydon room keeps a Sheffield label by moving after posting
    chosen.refresh_from_db()
    assert chosen.seat_id == central.pk


def test_a_copy_takes_the_rooms_seat_unless_a_coordinator_chose_it(croydon, hallam):
    host, coordinator = UserFactory(), UserFactory(is_staff=True)
    room = meeting_point_create(host=host, name="Room", address="1 Road", postcode="CR0 1AA", capacity=6)
    legacy = session_create(user=host, meeting_point=room, title="Old", slots=_slots())
    CanvassSession.objects.filter(pk=legacy.pk).update(seat=hallam)  # chosen by a host before this rule
    copy = session_copy(user=host, session_id=legacy.pk, new_date=(timezone.now() + timedelta(days=9)).date())
    assert copy.seat_id == croydon.pk
    chosen = session_create(user=coordinator, meeting_point=room, title="Chosen", slots=_slots(), seat_code=hallam.pk)
    again = session_copy(user=host, session_id=chosen.pk, new_date=(timezone.now() + timedelta(days=9)).date())
    assert again.seat_id == hallam.pk


# ---- vetting ----

@pytest.fixture
def new_host(hallam):
    return UserFactory(username="newbie", standing=False)


@pytest.fixture
def waiting(new_host):
    room = meeting_point_create(host=new_host, name="Room", address="1 Road", postcode="S10 1AA", capacity=6)
    return session_create(user=new_host, meeting_point=room, title="First", slots=_slots())


def test_a_new_hosts_session_is_in_review_and_unbookable(waiting, new_host):
    assert waiting.status == CanvassSession.Status.REVIEW
    mine = api_client_for(new_host).get(f"/api/sessions/{waiting.pk}/").json()
    assert mine["status"] == "review"
    from core.errors import NotFound
    from tests.factories import book

    with pytest.raises(NotFound):
        book(waiting.slots.get())


def test_a_trusted_host_of_the_seat_may_approve_others_may_not(waiting, new_host, hallam, croydon):
    trusted_here = UserFactory(username="local")
    meeting_point_create(host=trusted_here, name="Local room", address="2 Road", postcode="S10 1AA", capacity=6)
    trusted_elsewhere = UserFactory(username="far")
    meeting_point_create(host=trusted_elsewhere, name="Far room", address="3 Road", postcode="CR0 1AA", capacity=6)
    untrusted = UserFactory(username="other-new", standing=False)
    meeting_point_create(host=untrusted, name="Other", address="4 Road", postcode="S10 1AA", capacity=6)
    for outsider in (trusted_elsewhere, untrusted, new_host):
        api = api_client_for(outsider)
        assert api.get("/api/reviews/").json()["results"] == []
        assert api.post(f"/api/reviews/{waiting.pk}/approve/").status_code == 404
    api = api_client_for(trusted_here)
    listed = api.get("/api/reviews/").json()["results"]
    assert [row["id"] for row in listed] == [waiting.pk]
    # Another host sees what the public would: never the room, its address or postcode, or its host.
    assert "meeting_point" not in listed[0] and "1 Road" not in str(listed[0]) and "S10 1AA" not in str(listed[0])
    response = api.post(f"/api/reviews/{waiting.pk}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert HostStanding.objects.get(host=new_host).trusted
    assert VettingDecision.objects.filter(kind="approved", by=trusted_here, session=waiting).exists()
    later = session_create(user=new_host, meeting_point=waiting.meeting_point, title="Second", slots=_slots(3))
    assert later.status == CanvassSession.Status.PUBLISHED


def test_refusing_through_the_api_needs_a_reason(waiting):
    api = api_client_for(UserFactory(username="coord", is_staff=True))
    missing = api.post(f"/api/reviews/{waiting.pk}/refuse/", {"reason": ""}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    assert api.get("/api/reviews/").json()["results"][0]["meeting_point"]["postcode"] == "S10 1AA"  # coordinators
    refused = api.post(f"/api/reviews/{waiting.pk}/refuse/", {"reason": "Not a canvass."}, format="json")
    assert refused.status_code == 200 and refused.json()["review_reason"] == "Not a canvass."
    again = api.post(f"/api/reviews/{waiting.pk}/approve/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reviewed"


def test_trust_changed_in_the_admin_is_recorded_and_the_action_approves(client, waiting, new_host):
    coordinator = UserFactory(username="admin-coord", is_staff=True, is_superuser=True)
    client.force_login(coordinator)
    response = client.post("/admin/canvass/canvasssession/", {
        "action": "approve_sessions", "_selected_action": [waiting.pk]})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == CanvassSession.Status.PUBLISHED and waiting.reviewed_by == coordinator
    page = client.get(f"/admin/canvass/hoststanding/{new_host.pk}/change/")
    assert page.status_code == 200
    client.post(f"/admin/canvass/hoststanding/{new_host.pk}/change/", {"trusted": ""})
    assert not HostStanding.objects.get(host=new_host).trusted
    assert VettingDecision.objects.filter(host=new_host, kind="untrusted", by=coordinator).exists()
