"""Smaller holes, replayed over HTTP against the live server (docs/threat-model.md, "Smaller holes").

- Private answers (a booking, a roster, a host's or coordinator's page, an export) say `private, no-store`, so no
  proxy or CDN between the attacker and the victim keeps a copy to hand out.
- A 300-character username at a login is a failed login, never a 500.
- A flood from one IPv6 /48, a new /64 for every request, is refused (429) after a few clients' worth.
- A proven volunteer reading their booking with curl sees the address (the scanner list is the texted page's).
"""

import re

import pytest
import requests
from django.test import Client

from tests.factories import SlotFactory, UserFactory, book, next_mobile, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ratelimit_clock")]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def booked(postcode, locmem_sms):
    """A proven booking on a host's session."""
    return book(SlotFactory(capacity=5, session__meeting_point__postcode=postcode.postcode), proven=True)


def _signed_in(user) -> requests.Session:
    """A browser holding `user`'s session cookie (as after signing in)."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)
    return browser


def _private(response) -> bool:
    directives = {d.strip().lower() for d in response.headers.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives and "public" not in directives


def test_private_answers_are_never_kept_by_a_shared_cache(live_server, booked):
    url, token = live_server.url, booked.manage_token
    session_id = booked.slot.session_id
    host = booked.slot.session.meeting_point.host
    coordinator = UserFactory(username="coord", is_staff=True)
    anyone, as_host, as_coordinator = requests.Session(), _signed_in(host), _signed_in(coordinator)
    host_token = {"Authorization": f"Token {token_for(host)}"}
    answers = {
        "booking page": anyone.get(f"{url}/b/{token}"),
        "booking API": anyone.get(f"{url}/api/bookings/{token}/"),
        "my data": anyone.get(f"{url}/api/bookings/{token}/my-data/"),
        "unknown link": anyone.get(f"{url}/api/bookings/not-a-real-link-123/"),
        "host home": as_host.get(f"{url}/host/"),
        "host session": as_host.get(f"{url}/host/sessions/{session_id}/"),
        "host roster CSV": as_host.get(f"{url}/host/sessions/{session_id}/roster.csv"),
        "roster API": anyone.get(f"{url}/api/sessions/{session_id}/bookings/", headers=host_token),
        "coordinators": as_coordinator.get(f"{url}/coordinate/"),
        "bookings export": as_coordinator.get(f"{url}/coordinate/exports/bookings.csv"),
        "host login form": anyone.get(f"{url}/host/login/"),
    }
    assert {name: r.status_code for name, r in answers.items() if r.status_code >= 500} == {}
    assert [name for name, r in answers.items() if not _private(r)] == []
    assert booked.volunteer.name in answers["host roster CSV"].text  # the roster really was read
    assert "no-store" not in anyone.get(f"{url}/").headers.get("Cache-Control", "")  # public pages as before


@pytest.mark.parametrize("path", ["/host/login/", "/admin/login/"])
def test_a_300_character_username_is_a_failed_login_not_a_500(live_server, db, path):
    browser = requests.Session()
    form = browser.get(live_server.url + path)
    token = CSRF.search(form.text).group(1)
    answer = browser.post(live_server.url + path, data={"csrfmiddlewaretoken": token, "username": "x" * 300,
                                                         "password": "guess"}, headers={"Referer": form.url})
    assert answer.status_code == 200 and "<form" in answer.text


def test_a_300_character_username_at_the_token_api_is_a_401(live_server, db):
    answer = requests.post(live_server.url + "/api/auth/token/", json={"username": "x" * 300, "password": "guess"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_credentials"


def test_a_flood_from_one_ipv6_48_is_refused_whatever_64_each_request_comes_from(live_server, booked, settings):
    # Behind our proxy, which appends the client's address to X-Forwarded-For.
    settings.TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking_ip": "3/h"}
    factor = settings.RATE_LIMIT_IPV6_AGGREGATE_FACTOR
    answers = []
    for n in range(3 * factor + 1):  # each from a /64 never seen before
        answers.append(requests.post(
            f"{live_server.url}/api/slots/{booked.slot_id}/bookings/",
            json={"name": f"Flood {n}", "phone": next_mobile(), "postcode": booked.slot.session.meeting_point.postcode,
                  "consent_sms": True},
            headers={"X-Forwarded-For": f"2001:db8:7:{n:x}::1"}).status_code)
    assert answers[:-1] == [202] * (3 * factor) and answers[-1] == 429
    elsewhere = requests.post(f"{live_server.url}/api/slots/{booked.slot_id}/bookings/",
                              json={"name": "Someone", "phone": next_mobile(),
                                    "postcode": booked.slot.session.meeting_point.postcode, "consent_sms": True},
                              headers={"X-Forwarded-For": "2001:db8:8::1"})
    assert elsewhere.status_code == 202  # another /48 is someone else


@pytest.mark.parametrize("agent", ["curl/8.5.0", "python-requests/2.32.3", "Go-http-client/2.0"])
def test_a_proven_volunteer_reading_their_booking_with_curl_sees_the_address(live_server, booked, agent):
    answer = requests.get(f"{live_server.url}/api/bookings/{booked.manage_token}/", headers={"User-Agent": agent})
    assert answer.status_code == 200
    assert answer.json()["address"] == booked.slot.session.meeting_point.address
