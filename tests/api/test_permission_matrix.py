"""Who may do what: anonymous, the owning host, another host and a coordinator, on every host operation; and, for
the volunteer's side, what a caller without the texted link or code can reach of a booking."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import (
    MeetingPointFactory,
    PostcodeFactory,
    SeatFactory,
    SlotFactory,
    UserFactory,
    api_client_for,
    book,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    owner = UserFactory(username="owner")
    meeting_point = MeetingPointFactory(host=owner, seat=seat)
    slot = SlotFactory(session__meeting_point=meeting_point, session__requires_approval=True)
    waiting = book(slot, proven=True)  # waits for the host's approval
    clients = {"anonymous": APIClient()}
    for role, user in (("owner", owner), ("other_host", UserFactory(username="other")),
                       ("coordinator", UserFactory(username="boss", is_staff=True))):
        clients[role] = api_client_for(user)
    return {"clients": clients, "meeting_point": meeting_point, "session": slot.session, "slot": slot,
            "booking": waiting}


def _operations(world):
    start = timezone.now() + timedelta(days=2)
    new_session = {"meeting_point": world["meeting_point"].id, "title": "More doors", "slots": [
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 5}]}
    return {
        "read meeting point": ("get", f"/api/meeting-points/{world['meeting_point'].id}/", None),
        "edit meeting point": ("patch", f"/api/meeting-points/{world['meeting_point'].id}/", {"capacity": 30}),
        "create session": ("post", "/api/sessions/", new_session),
        "edit session": ("patch", f"/api/sessions/{world['session'].id}/", {"title": "Renamed"}),
        "edit slot": ("patch", f"/api/slots/{world['slot'].id}/", {"capacity": 12}),
        "cancel session": ("post", f"/api/sessions/{world['session'].id}/cancel/", None),
        "read roster": ("get", f"/api/sessions/{world['session'].id}/bookings/", None),
        "approve volunteer": ("post", f"/api/sessions/{world['session'].id}/bookings/{world['booking'].id}/approve/",
                              None),
        "refuse volunteer": ("post", f"/api/sessions/{world['session'].id}/bookings/{world['booking'].id}/refuse/",
                             None),
    }


EXPECTED = {
    #                        anonymous owner other_host coordinator
    "read meeting point": (401, 200, 404, 200),
    "edit meeting point": (401, 200, 404, 200),
    "create session": (401, 201, 400, 201),
    "edit session": (401, 200, 404, 200),
    "edit slot": (401, 200, 404, 200),
    "cancel session": (401, 200, 404, 200),
    "read roster": (401, 200, 404, 200),
    "approve volunteer": (401, 200, 404, 200),
    "refuse volunteer": (401, 200, 404, 200),
}
ROLES = ("anonymous", "owner", "other_host", "coordinator")


@pytest.mark.parametrize("operation", list(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, operation, role):
    method, url, body = _operations(world)[operation]
    response = getattr(world["clients"][role], method)(url, body, format="json")
    assert response.status_code == EXPECTED[operation][ROLES.index(role)], response.content
    if response.status_code >= 400:
        assert "error" in response.json()


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reaches_a_booking_without_its_private_link(world, role):
    """Hosts and coordinators see bookings on the roster; a booking's own view and its changes need the link."""
    client = world["clients"][role]
    booking = world["booking"]
    for method, url in (("get", "/api/bookings/guess/"), ("post", "/api/bookings/guess/cancel/"),
                        ("post", "/api/bookings/guess/details/"), ("post", "/api/bookings/guess/decline-redirect/"),
                        ("post", "/api/bookings/guess/prove/"),
                        ("post", f"/api/bookings/{booking.id}/cancel/")):
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 404, (role, url, response.content)
        assert booking.manage_token not in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == "confirmed"
