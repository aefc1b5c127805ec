"""Every private answer says `Cache-Control: private, no-store`: no proxy or CDN keeps a copy of a booking, a
roster, a host's or coordinator's page or an export, nor does the browser after the tab closes.

The URL conf is walked, so a route added later is checked too: it is private unless listed in PUBLIC below
(and, under /api/, in web.middleware.PUBLIC_API_URL_NAMES).
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from tests.factories import SlotFactory, UserFactory, book

pytestmark = pytest.mark.django_db

# Pages and resources anyone may see, and that a cache may keep as before.
PUBLIC = {"volunteer:home", "volunteer:find", "volunteer:session", "volunteer:book", "volunteer:needed",
          "volunteer:privacy", "health", "healthz", "metrics", "api-index", "schema", "docs",
          "redoc", "seat-list", "seat-detail", "session-list", "session-detail", "slot-detail",
          "set_language", "javascript-catalog", "robots", "volunteer:session_preview"}
TOKEN = "Tok_" + "x" * 30


def _names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def _path(name: str, pattern: URLPattern, ids: dict) -> str | None:
    groups = set(re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))) | set(pattern.pattern.regex.groupindex)
    values = {"token": TOKEN, "kind": "volunteer", "ons_code": "E14000922", "uidb64": "MQ", "app_label": "volunteers",
              "url": "x", "content_type_id": "1", "object_id": "1", **ids}
    for token in (values["token"], "c1." + "x" * 20):  # a booking's link; a campaign link (/c/: id.signature)
        try:
            return reverse(name, kwargs={group: token if group == "token" else values.get(group, 1)
                                         for group in groups})
        except NoReverseMatch:
            continue
    return None


@pytest.fixture
def private_routes(postcode):
    booking = book(SlotFactory(capacity=3, session__meeting_point__postcode=postcode.postcode))
    ids = {"session_id": booking.slot.session_id, "slot_id": booking.slot_id, "booking_id": booking.pk,
           "room_id": booking.slot.session.meeting_point_id, "token": booking.manage_token}
    routes = []
    for name, pattern in _names(get_resolver().url_patterns):
        if name.split(":")[-1] in PUBLIC or name in PUBLIC:
            continue
        path = _path(name, pattern, ids)
        assert path is not None, f"cannot build a URL for {name}: give its arguments a value in _path"
        routes.append((name, path))
    return routes


def _private(response) -> bool:
    directives = {d.strip().lower() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives and "public" not in directives


def test_every_private_route_answers_private_no_store_to_anyone(client, private_routes):
    staff = UserFactory(username="coord", is_staff=True, is_superuser=True)
    signed_in = type(client)()
    signed_in.force_login(staff)
    names = {name for name, _ in private_routes}
    assert {"volunteer:manage", "booking-detail", "session-roster", "hosts:roster_csv", "coordinators:dashboard",
            "export-bookings", "booking-my-data", "challenge-verify", "calendar-feed"} <= names | {
        n.split(":")[-1] for n in names}
    leaks = []
    for name, path in private_routes:
        for who, asking in (("anonymous", client), ("coordinator", signed_in)):
            response = asking.get(path)
            if response.status_code >= 500 or not _private(response):
                leaks.append((name, path, who, response.status_code, response.get("Cache-Control")))
    assert leaks == []


def test_the_public_catalogue_is_cacheable_as_before_unless_a_token_asks(client, seat):
    for path in ["/", "/find/", "/privacy/", "/api/seats/", "/api/sessions/", "/api/"]:
        assert "no-store" not in client.get(path).get("Cache-Control", ""), path
    assert _private(client.get("/api/sessions/", HTTP_AUTHORIZATION="Token not-a-real-one"))
