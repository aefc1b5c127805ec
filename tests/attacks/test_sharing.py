"""Attacks on sharing and link previews, replayed over HTTP against the live server (docs/threat-model.md,
"Sharing and link previews")."""

import re
from urllib.parse import unquote

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from sessions.models import CanvassSession
from tests.factories import book
from tests.web.volunteer_data import ADDRESS, VOLUNTEER_POSTCODE, neighbourhood
from web import preview

pytestmark = pytest.mark.django_db(transaction=True)

LINK_PREVIEW_BOT = "WhatsApp/2.23.20.0 A"


@pytest.fixture
def area():
    cache.clear()
    return neighbourhood()


def test_a_link_preview_of_a_private_link_shares_only_the_public_page(live_server, area):
    """Someone pastes their /b/<token> link in a group chat: the app's fetcher reads the page. Whatever it finds to
    pass on (share links, Open Graph tags) names the public session page, never the token or the address."""
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    response = requests.get(f"{live_server.url}/b/{booking.manage_token}", headers={"User-Agent": LINK_PREVIEW_BOT},
                            timeout=10)
    assert response.status_code == 200
    body = response.text
    outward = [unquote(href) for href in re.findall(r'href="([^"]*)"', body)
               if href.startswith(("https://", "sms:", "mailto:", "webcal:"))]
    assert any(href.startswith("https://wa.me/") for href in outward)
    for href in outward:
        assert booking.manage_token not in href and ADDRESS.split("\n")[0] not in href
    for tag in re.findall(r"<meta [^>]*>", body):
        assert booking.manage_token not in tag
    assert response.headers["Referrer-Policy"] == "same-origin"  # following a share link names no private URL


def test_a_cancelled_sessions_preview_is_the_same_404_as_one_that_never_was(live_server, area):
    """Probing preview.png for ids tells no more than the page: cancelled and unknown answer alike."""
    CanvassSession.objects.filter(pk=area.session.pk).update(status=CanvassSession.Status.CANCELLED,
                                                             cancelled_at=timezone.now())
    cancelled = requests.get(f"{live_server.url}/s/{area.session.pk}/preview.png", timeout=10)
    unknown = requests.get(f"{live_server.url}/s/987654321/preview.png", timeout=10)
    assert cancelled.status_code == unknown.status_code == 404
    assert cancelled.text == unknown.text and "ETag" not in cancelled.headers


def test_cache_busting_query_strings_cannot_make_the_server_draw_again(live_server, area, monkeypatch):
    """A flood of ?v=<random> requests: the drawing is keyed by the session's version on the server, not by the
    URL, so it happens once."""
    drawn = []
    real = preview.preview_png
    monkeypatch.setattr(preview, "preview_png", lambda text: drawn.append(1) or real(text))
    with requests.Session() as http:
        for n in range(20):
            response = http.get(f"{live_server.url}/s/{area.session.pk}/preview.png?v={n}x", timeout=10)
            assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    assert len(drawn) == 1


def test_a_forged_host_header_cannot_point_the_share_links_elsewhere(live_server, area):
    """The share links and og:url are built from the request's host: one not in ALLOWED_HOSTS is refused."""
    response = requests.get(f"{live_server.url}/s/{area.session.pk}/", headers={"Host": "evil.example"}, timeout=10)
    assert response.status_code == 400
    assert "evil.example" not in response.text
