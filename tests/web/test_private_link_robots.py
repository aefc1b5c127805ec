"""Link previews and link scanners open a texted link before the volunteer does: they must not prove the booking
nor see the address, even when they pass for a browser, so only a deliberate press of the page's "this is my phone"
button (a POST with CSRF) proves it. And the private-link pages are never cached, indexed or named in a Referer."""

import html
import re

import pytest
from django.test import Client

from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.links import AUTOMATIC_OPENERS, opened_automatically
from volunteers.models import Booking, Volunteer

pytestmark = pytest.mark.django_db

PHONE, E164 = "07400 900654", "+447400900654"
ADDRESS = "14 Secret Gardens"
# Real User-Agents of previewers, scanners and crawlers, and of people's browsers.
MACHINES = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage's preview
    "WhatsApp/2.23.20.0 A",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 "
    "Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "SomeNewChatBot/3.2",
    "Mozilla/5.0 (compatible; LinkPreview/1.0)",
]
PEOPLE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
]


@pytest.fixture
def booking(client):
    area = neighbourhood()
    response = client.post(f"/s/{area.slot.session_id}/book/?slot={area.slot.pk}",
                           {"name": "Ada Lovelace", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE,
                            "consent_sms": "on"})
    assert response.status_code == 302
    return Booking.objects.get(volunteer__phone=E164)


def _proven(booking) -> tuple[bool, bool]:
    booking.refresh_from_db()
    return booking.proven_at is not None, Volunteer.objects.get(pk=booking.volunteer_id).phone_verified_at is not None


@pytest.mark.parametrize("agent", MACHINES)
def test_a_preview_or_scanner_sees_the_page_without_proving_or_the_address(client, booking, agent):
    response = client.get(f"/b/{booking.manage_token}", HTTP_USER_AGENT=agent)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200 and "Your place" in page
    assert ADDRESS not in page and "Priya" not in page and VOLUNTEER_POSTCODE.replace(" ", "+") not in page
    assert _proven(booking) == (False, False)
    # The links a crawler might follow from the page give nothing away either, and prove nothing.
    for sub in ("calendar.ics", "data/"):
        followed = client.get(f"/b/{booking.manage_token}/{sub}", HTTP_USER_AGENT=agent)
        assert followed.status_code == 302 and followed["Location"] == f"/b/{booking.manage_token}"
    assert client.get(f"/b/{booking.manage_token}/cancel/", HTTP_USER_AGENT=agent).status_code == 200
    assert _proven(booking) == (False, False)


def test_a_head_request_proves_nothing(client, booking):
    response = client.head(f"/b/{booking.manage_token}", HTTP_USER_AGENT=PEOPLE[0])
    assert response.status_code == 200
    assert _proven(booking) == (False, False)


@pytest.mark.parametrize("agent", PEOPLE)
def test_opening_the_link_in_a_browser_proves_nothing_until_the_button_is_pressed(booking, agent):
    """A scanner that passes for a browser GETs the page, and everything a crawler finds on it, and proves nothing.
    The person presses the button (a form with a CSRF token), and is sent back to the page with the address."""
    browser = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=agent)
    response = browser.get(f"/b/{booking.manage_token}")
    page = html.unescape(response.content.decode())
    assert response.status_code == 200 and ADDRESS not in page and "Priya" not in page
    assert "This is my phone: show me the address" in page
    for sub in ("calendar.ics", "data/", "cancel/", "move/", "email/"):
        followed = browser.get(f"/b/{booking.manage_token}/{sub}")
        assert followed.status_code in (200, 302) and ADDRESS not in html.unescape(followed.content.decode())
    assert browser.head(f"/b/{booking.manage_token}").status_code == 200
    assert _proven(booking) == (False, False)
    assert browser.post(f"/b/{booking.manage_token}/prove/").status_code == 403  # no CSRF token: nothing proven
    assert _proven(booking) == (False, False)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    pressed = browser.post(f"/b/{booking.manage_token}/prove/", {"csrfmiddlewaretoken": token})
    assert pressed.status_code == 302 and pressed["Location"] == f"/b/{booking.manage_token}"
    assert _proven(booking) == (True, True)
    after = html.unescape(browser.get(pressed["Location"]).content.decode())
    assert ADDRESS in after and "Priya" in after and "This is my phone" not in after
    assert "Thank you: your phone is confirmed." in after


def test_the_button_works_without_javascript_and_only_by_post(client, booking):
    assert client.get(f"/b/{booking.manage_token}/prove/").status_code == 405
    assert _proven(booking) == (False, False)
    page = client.post(f"/b/{booking.manage_token}/prove/", follow=True)
    assert page.redirect_chain == [(f"/b/{booking.manage_token}", 302)]
    assert ADDRESS in html.unescape(page.content.decode())
    assert client.post("/b/NoSuchBookingToken123/prove/").status_code == 404


def test_a_preview_of_a_proven_booking_still_gets_no_address(client, booking):
    client.post(f"/b/{booking.manage_token}/prove/")
    assert ADDRESS in html.unescape(client.get(f"/b/{booking.manage_token}", HTTP_USER_AGENT=PEOPLE[0]).content.decode())
    preview = client.get(f"/b/{booking.manage_token}", HTTP_USER_AGENT=MACHINES[2])
    assert ADDRESS not in html.unescape(preview.content.decode())


def test_the_api_link_proves_nothing_when_read_either(client, booking):
    preview = client.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=MACHINES[0])
    assert preview.status_code == 200 and preview.json()["address"] is None
    assert client.head(f"/api/bookings/{booking.manage_token}/").status_code == 200
    person = client.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=PEOPLE[1])
    assert person.status_code == 200 and person.json()["address"] is None and person.json()["proven"] is False
    assert _proven(booking) == (False, False)
    proven = client.post(f"/api/bookings/{booking.manage_token}/prove/", HTTP_USER_AGENT=PEOPLE[1])
    assert proven.status_code == 200 and ADDRESS in proven.json()["address"]
    assert _proven(booking) == (True, True)
    assert ADDRESS in client.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=PEOPLE[1]).json()["address"]
    # The User-Agent list is the texted page's: the API's readers are programs (tests/api/test_booking_link_clients.py).
    assert ADDRESS in client.get(f"/api/bookings/{booking.manage_token}/", HTTP_USER_AGENT=MACHINES[0]).json()["address"]


@pytest.mark.parametrize("path", ["", "/cancel/", "/data/", "/calendar.ics"])
def test_private_link_pages_are_not_cached_indexed_or_referred(client, booking, path):
    response = client.get(f"/b/{booking.manage_token}{path}", HTTP_USER_AGENT=PEOPLE[0])
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Cache-Control"] == "private, no-store"


def test_an_unknown_link_and_the_code_page_send_the_same_headers(client, booking):
    for url in ("/b/NoSuchBookingToken123", f"/check/{booking.challenges.get().token}/"):
        response = client.get(url)
        assert response["Referrer-Policy"] == "same-origin" and response["Cache-Control"] == "private, no-store"
    assert client.get("/").get("Cache-Control") != "private, no-store"  # only the private pages


def test_the_list_of_machines_is_one_list():
    assert all(opened_automatically(method="GET", user_agent=name) for name in AUTOMATIC_OPENERS)
    assert not opened_automatically(method="GET", user_agent="")
    assert opened_automatically(method="HEAD", user_agent=PEOPLE[0])
