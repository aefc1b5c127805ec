"""Failed logins lock out (django-axes, kept in PostgreSQL): admin, API token and any view calling authenticate()."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ratelimit_clock")]

PASSWORD = "a-long-password-9"


@pytest.fixture
def admin_user():
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


def admin_login(client, password, username="boss", ip="203.0.113.50"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def token_login(password, username="boss", ip="203.0.113.50"):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_locks_out_on_the_fifth_failure_and_stays_locked_with_the_right_password(client, admin_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert admin_login(client, "wrong").status_code == 200  # the form again, with its error
    locked = admin_login(client, "wrong")
    assert locked.status_code == 429 and locked["Content-Type"].startswith("text/html")
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Please try again in 15 minutes" in locked.content.decode()
    still = admin_login(client, PASSWORD)
    assert still.status_code == 429 and not logged_in(client)


def test_the_lockout_ends_after_the_cool_off(client, admin_user, settings):
    for _ in range(5):
        admin_login(client, "wrong")
    assert admin_login(client, PASSWORD).status_code == 429
    # Move the last failure back past the cool-off instead of waiting.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time
                                 - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = admin_login(client, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_the_lockout_is_per_username_and_address(client, admin_user):
    UserFactory(username="other", is_staff=True)
    for _ in range(5):
        admin_login(client, "wrong")
    assert admin_login(client, "wrong", username="other").status_code == 200  # same IP, another user: not locked
    elsewhere = type(client)()
    assert admin_login(elsewhere, PASSWORD, ip="198.51.100.60").status_code == 302  # same user, another IP


def test_an_address_trying_many_usernames_is_locked_out_for_all_of_them(client, admin_user, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 6
    for n in range(6):
        assert admin_login(client, "wrong", username=f"guess{n}").status_code in (200, 429)
    assert admin_login(client, PASSWORD).status_code == 429 and not logged_in(client)
    assert admin_login(type(client)(), PASSWORD, ip="198.51.100.61").status_code == 302


def test_token_login_locks_out_with_json_429_and_retry_after(admin_user):
    for _ in range(4):
        assert token_login("wrong").status_code == 401
    for password in ("wrong", PASSWORD):
        response = token_login(password)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "locked_out"
        assert int(response["Retry-After"]) == 900
    assert token_login(PASSWORD, ip="198.51.100.62").status_code == 200


def test_failures_are_counted_through_the_trusted_proxy_header_only_when_configured(admin_user, settings):
    for n in range(5):  # a spoofed header changes nothing by default: these all count for 203.0.113.50
        APIClient().post("/api/auth/token/", {"username": "boss", "password": "wrong"}, format="json",
                         REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert token_login(PASSWORD).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50"}


def test_the_test_clients_login_without_a_request_still_works(client, admin_user):
    assert client.login(username="boss", password=PASSWORD)


def test_the_admin_login_has_a_per_ip_attempt_limit_too(client, admin_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "2/h"}
    for _ in range(2):
        admin_login(type(client)(), PASSWORD)
    response = admin_login(client, PASSWORD)
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) >= 1 and not logged_in(client)


def test_coordinators_see_lockouts_in_the_admin(client, admin_user):
    for _ in range(5):
        admin_login(type(client)(), "wrong", username="mallory", ip="198.51.100.63")
    client.force_login(admin_user)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "mallory" in page.content.decode()


@pytest.mark.parametrize("path", ["/admin/login/?next=/admin/", "/host/login/"])
def test_a_username_longer_than_axes_column_is_a_failed_login_not_a_500(client, admin_user, path):
    long_name = "x" * 300
    for _ in range(4):
        response = client.post(path, {"username": long_name, "password": "wrong"}, REMOTE_ADDR="203.0.113.50")
        assert response.status_code == 200  # the form again, with its error
    assert client.post(path, {"username": long_name, "password": "wrong"},
                       REMOTE_ADDR="203.0.113.50").status_code == 429  # the fifth locks out, as any name does
    assert AccessAttempt.objects.get().username == long_name[:255]


def test_a_username_longer_than_axes_column_at_the_token_api_is_a_401_not_a_500(admin_user):
    response = token_login("wrong", username="y" * 1000)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_credentials"
