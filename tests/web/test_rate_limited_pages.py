"""RateLimited outside DRF: a friendly 429 page, or the JSON error body under /api/ and /twilio/; Retry-After on both."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.web.ratelimit_urls"), pytest.mark.usefixtures("ratelimit_clock")]


@pytest.fixture(autouse=True)
def tight_limits(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_ip": "2/h", "login_ip": "1/h"}


def test_a_page_over_its_limit_answers_a_friendly_html_429(client):
    for _ in range(2):
        assert client.post("/host/password-reset-test/").status_code == 200
    response = client.post("/host/password-reset-test/")
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) == 3000
    page = response.content.decode()
    assert "Please wait a little" in page and "Please try again in 50 minutes" in page and 'href="#main"' in page
    assert client.get("/host/password-reset-test/").status_code == 200  # only POSTs count


def test_a_plain_view_under_api_answers_json(client):
    client.post("/api/plain-test/")
    response = client.post("/api/plain-test/")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


def test_a_webhook_answers_json(client):
    client.post("/twilio/hook-test/")
    response = client.post("/twilio/hook-test/")
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(("path", "scope"), [("/needed/", "signup_ip"), ("/s/{session}/book/", "booking_ip")])
def test_the_volunteer_forms_count_posts_per_address_like_the_api(client, settings, path, scope):
    from tests.factories import SlotFactory

    slot = SlotFactory()
    url = path.format(session=slot.session_id) + f"?slot={slot.pk}"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: "2/h"}
    for _ in range(2):
        assert client.post(url, {}).status_code == 200  # the form again, with its errors
    response = client.post(url, {})
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) >= 1
    assert client.get(url).status_code == 200  # reading the form is not counted
