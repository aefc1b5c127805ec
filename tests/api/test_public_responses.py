"""Every public response about a session leaks neither the front room's address, nor its exact coordinates, nor
any host's or volunteer's contact details (issue 11)."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.services import meeting_point_create, session_create
from tests.factories import PostcodeFactory, SeatFactory, UserFactory
from tests.sms.factories import booking_make, volunteer_make

pytestmark = pytest.mark.django_db

DOOR = (53.381123, -1.488234)


@pytest.fixture
def front_room():
    seat = SeatFactory(ons_code="E14000922", name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 2TN", lat=DOOR[0], lng=DOOR[1], seat=seat)
    PostcodeFactory(postcode="S10 1AA", lat=53.3800, lng=-1.5000, seat=seat)
    host = UserFactory(username="aisha-host", first_name="Aishwarya", email="aisha.host@example.org")
    point = meeting_point_create(host=host, name="Front room", address="27 Psalter Lane", postcode="S10 2TN",
                                 capacity=12, host_first_name="Aishwarya", host_phone="+447700900111",
                                 accessibility_notes="Step-free")
    start = timezone.now() + timedelta(days=2)
    session = session_create(user=host, meeting_point=point, title="Saturday doors",
                             slots=[{"starts_at": start, "ends_at": start + timedelta(hours=2), "capacity": 1,
                                     "turf": "Odd numbers on Quiet Close"}])
    slot = session.slots.get()
    volunteer = volunteer_make(name="Bartholomew Quince", phone="+447700900222", email="bart@example.org")
    booking_make(slot=slot, volunteer=volunteer)
    booking_make(slot=slot, volunteer=volunteer_make(name="Waiting Wilhelmina", phone="+447700900333"))
    return point, session, slot


def _secrets(point, *, searched_from_door: bool = False) -> list[str]:
    exact = []
    for value in (point.lat, point.lng, point.public_lat, point.public_lng):
        exact += [repr(value), f"{value:.4f}", f"{value:.3f}", f"{value:.3f}".replace(".", ",")]
    # A search from the door's postcode echoes what the searcher typed; nothing else may show it.
    postcode = [] if searched_from_door else ["S10 2TN", "S102TN"]
    return ["27 Psalter Lane", "Psalter", *postcode, "Aishwarya", "aisha.host@example.org", "+447700900111",
            "07700900111", "Bartholomew", "Quince", "+447700900222", "bart@example.org", "Wilhelmina",
            "+447700900333", "Quiet Close", *exact]


def _public_html_paths() -> list[str]:
    """Every page route without parameters outside /admin/ and /api/ (the pages that exist when this runs)."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "<" not in route and "(" not in route:
                found.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns)
    return sorted(p for p in found if not p.startswith(("/admin", "/api", "/twilio", "/static")))


def _resolves(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def test_no_public_response_about_a_session_leaks_an_address_coordinates_or_contacts(front_room):
    point, session, slot = front_room
    api = APIClient()
    responses = {
        "list": api.get("/api/sessions/"),
        "search": api.get("/api/sessions/", {"near": "S10 1AA"}),
        "search from the door": api.get("/api/sessions/", {"near": "S10 2TN"}),
        "search by seat": api.get("/api/sessions/", {"seat": "E14000922"}),
        "detail": api.get(f"/api/sessions/{session.pk}/"),
        "seats": api.get("/api/seats/"),
        "seats near": api.get("/api/seats/", {"near": "S10 2TN"}),
        "seat": api.get("/api/seats/E14000922/"),
        "schema": api.get("/api/schema/"),
    }
    pages = _public_html_paths()
    assert "/" in pages
    for path in pages:
        responses[f"page {path}"] = api.get(path)
    # The pages about this session, where they exist on main (the walk above covers those without parameters).
    for name, path, query in (("results page", "/find/", {"postcode": "S10 1AA"}),
                              ("results page from the door", "/find/", {"postcode": "S10 2TN"}),
                              ("session page", f"/s/{session.pk}/", {}),
                              ("booking page", f"/s/{session.pk}/book/", {"slot": slot.pk, "postcode": "S10 1AA"})):
        if _resolves(path):
            responses[name] = api.get(path, query)
    for name, response in responses.items():
        # Pages for signed-in hosts and coordinators send the public to the sign-in page (302).
        # /healthz answers 503 while no Celery worker or beat has written a heartbeat (none runs here), and
        # /metrics 404 to anyone without its token.
        allowed = {"page /healthz": (200, 503), "page /metrics": (404,)}.get(name, (200, 302, 405))
        assert response.status_code in allowed, (name, response.status_code)  # 405: POST-only (sign out)
        text = response.content.decode()
        from_door = "S10 2TN" in response.request.get("QUERY_STRING", "").replace("+", " ").replace("%20", " ") or (
            # the booking form prefills the postcode this visitor searched with (their own cookie), never a page
            name == "booking page" and getattr(api.cookies.get("frontroom_postcode"), "value", "") == "S102TN")
        leaked = [secret for secret in _secrets(point, searched_from_door=from_door) if secret in text]
        assert leaked == [], f"{name} shows {leaked}"
    found = responses["search"].json()["results"]
    assert [row["id"] for row in found] == [session.pk]  # the walk did see the session
    if "results page" in responses:
        assert "Saturday doors" in responses["results page"].content.decode()


def test_the_walk_can_fail_a_response_that_leaks(front_room):
    point, session, _slot = front_room
    host_api = APIClient()
    host_api.force_authenticate(point.host)
    host_view = host_api.get(f"/api/sessions/{session.pk}/").content.decode()
    assert any(secret in host_view for secret in _secrets(point))  # the host's own view has them
    assert re.search(r"27 Psalter Lane", host_view)
