from datetime import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_str, env_time


def test_env_helpers_parse_and_refuse_malformed_values(monkeypatch, tmp_path):
    monkeypatch.setenv("FR_FLAG", "yes")
    assert env_bool("FR_FLAG", False) is True
    monkeypatch.setenv("FR_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("FR_FLAG", False)
    monkeypatch.setenv("FR_NUM", "x")
    with pytest.raises(ImproperlyConfigured):
        env_int("FR_NUM", 1)
    assert env_time("FR_AT", "21:00") == time(21, 0)
    monkeypatch.setenv("FR_AT", "07:30")
    assert env_time("FR_AT", "21:00") == time(7, 30)
    monkeypatch.setenv("FR_AT", "7h30")
    with pytest.raises(ImproperlyConfigured, match="FR_AT must be HH:MM"):
        env_time("FR_AT", "21:00")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("FR_SECRET_FILE", str(secret))
    assert env_str("FR_SECRET") == "s3cret"


@pytest.mark.django_db
def test_openapi_schema_is_served_and_names_the_public_operations(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/auth/signup/", "/api/auth/token/", "/api/seats/", "/api/seats/{ons_code}/",
                 "/api/meeting-points/", "/api/sessions/", "/api/sessions/{id}/cancel/",
                 "/api/slots/{slot_id}/bookings/", "/api/bookings/{token}/", "/api/bookings/{token}/cancel/"):
        assert path in paths, path
    assert client.get("/api/docs/").status_code == 200


def test_health_needs_nothing(client):
    assert client.get("/health/").json() == {"status": "ok"}


@pytest.mark.django_db
def test_unknown_urls_get_the_json_error_shape(client):
    response = client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/dispatch/runs/" in (tmp_path / "schema.yml").read_text()
