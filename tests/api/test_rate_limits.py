"""Per-IP limits on the public write endpoints: 429, Retry-After and the one error body; counted per client address."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import booking_body
from tests.factories import SlotFactory
from volunteers.models import Booking

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ratelimit_clock")]


@pytest.fixture
def limits(settings):
    def set_limits(**scopes):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **scopes}

    return set_limits


def assert_rate_limited(response, code="rate_limited"):
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= 86400
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["fields"] == {}


def book(client, slot, n, **meta):
    return client.post(f"/api/slots/{slot.pk}/bookings/", booking_body(phone=f"07400 1000{n:02d}"), format="json",
                       **meta)


def test_a_family_books_several_places_from_one_home_address_with_the_defaults(api, meeting_point):
    slots = [SlotFactory(session__meeting_point=meeting_point, capacity=8,
                         session__starts_at=timezone.now() + timedelta(days=day)) for day in (1, 2, 3)]
    answers = [book(api, slot, person).status_code for person in range(5) for slot in slots]
    assert 429 not in answers and max(answers) < 400, answers  # five people, three sessions each, one IP


def test_one_phone_makes_five_booking_requests_an_hour_with_the_defaults(meeting_point):
    """docs/limits.md: each request texts a code, so code_send_phone (5/h) binds before booking_phone (10/h)."""
    slots = [SlotFactory(session__meeting_point=meeting_point, session__starts_at=timezone.now() + timedelta(days=day))
             for day in range(1, 7)]
    answers = [APIClient(REMOTE_ADDR=f"198.51.100.{n}").post(
        f"/api/slots/{slot.pk}/bookings/", booking_body(phone="07400 100001"), format="json").status_code
        for n, slot in enumerate(slots)]
    assert answers[:5] == [202] * 5 and answers[5] == 429, answers


def test_bookings_past_the_per_ip_limit_are_429_and_write_nothing(api, slot, limits):
    limits(booking_ip="3/h")
    for n in range(3):
        assert book(api, slot, n).status_code < 400
    stored = Booking.objects.count()
    assert_rate_limited(book(api, slot, 3))
    assert Booking.objects.count() == stored
    assert book(api, slot, 4, REMOTE_ADDR="198.51.100.20").status_code < 400  # another address is not held back


def test_volunteer_signups_past_the_per_ip_limit_are_429(limits):
    limits(signup_ip="2/h")
    client = APIClient()
    for _ in range(2):  # refused input counts too: flooding with junk is flooding
        assert client.post("/api/volunteers/", {}, format="json").status_code == 400
    assert_rate_limited(client.post("/api/volunteers/", {}, format="json"))


def test_host_signups_past_the_per_ip_limit_are_429(limits):
    limits(host_signup_ip="2/h")
    client = APIClient()
    for n in range(2):
        body = {"username": f"host{n}", "password": "a-long-password-9", "email": f"h{n}@example.org"}
        assert client.post("/api/auth/signup/", body, format="json").status_code == 201
    body = {"username": "host9", "password": "a-long-password-9", "email": "h9@example.org"}
    assert_rate_limited(client.post("/api/auth/signup/", body, format="json"))
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="host9").exists()


def test_token_logins_past_the_per_ip_limit_are_429_even_with_the_right_password(limits, host):
    limits(login_ip="3/h")
    client = APIClient()
    for _ in range(3):
        assert client.post("/api/auth/token/", {"username": host.username, "password": "a-long-password-9"},
                           format="json").status_code == 200
    assert_rate_limited(client.post("/api/auth/token/", {"username": host.username, "password": "a-long-password-9"},
                                    format="json"))


def test_a_spoofed_forwarded_for_is_ignored_by_default(api, slot, limits):
    limits(booking_ip="2/h")
    answers = [book(api, slot, n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)]
    assert answers[:2] != [429, 429] and answers[2] == 429


def test_the_configured_proxy_header_is_honoured(api, slot, limits, settings):
    limits(booking_ip="2/h")
    settings.TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    # Behind our proxy every request comes from the proxy's address; the last hop is the client's.
    for n in range(2):
        assert book(api, slot, n, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 198.51.100.30").status_code < 400
    # What the client put in front of it changes nothing...
    assert_rate_limited(book(api, slot, 2, HTTP_X_FORWARDED_FOR="10.0.0.9, 198.51.100.30"))
    # ...while another client behind the same proxy has its own count.
    assert book(api, slot, 3, HTTP_X_FORWARDED_FOR="198.51.100.31").status_code < 400


def test_the_schema_documents_429_with_retry_after():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/slots/{slot_id}/bookings/", "/api/volunteers/", "/api/auth/signup/", "/api/auth/token/"):
        response = schema["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in response.get("headers", {}), path
