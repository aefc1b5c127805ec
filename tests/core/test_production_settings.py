"""Production settings: set from the environment, on by default under DEBUG off and an https site, and
`manage.py check --deploy` clean with them; HSTS, the HTTPS redirect and the CSP as a client sees them."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "frontroom.example.org",
    "PUBLIC_BASE_URL": "https://frontroom.example.org", "TRUSTED_PROXY_IP_HEADER": "X-Forwarded-For",
}


def _env(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SECURE_", "SESSION_", "CSRF_")) and key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DATABASE_URL=os.environ.get("DATABASE_URL", ""), **PRODUCTION)
    env.update(overrides)
    return env


def _manage(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=_env(**env), capture_output=True,
                          text=True, timeout=300)


def _settings(*names, **env) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=str))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(**env), capture_output=True,
                            text=True, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.server  # a child process
def test_check_deploy_with_production_settings_reports_nothing():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.server  # a child process
def test_on_plain_http_the_same_check_still_names_the_https_settings():
    # The check can fail: an http:// site gets no HSTS, redirect or secure cookies by default.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", PUBLIC_BASE_URL="http://frontroom.example.org")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


@pytest.mark.server  # a child process
def test_production_defaults_and_overrides_from_the_environment():
    names = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS")
    production = _settings(*names)
    assert production == {
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://frontroom.example.org"]}
    assert _settings(*names, SECURE_HSTS_SECONDS="0", SECURE_HSTS_PRELOAD="false", SECURE_PROXY_SSL_HEADER="off",
                     CSRF_TRUSTED_ORIGINS="https://a.example.org,https://b.example.org") == {
        **production, "SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_PRELOAD": False, "SECURE_PROXY_SSL_HEADER": None,
        "CSRF_TRUSTED_ORIGINS": ["https://a.example.org", "https://b.example.org"]}
    # No trusted proxy: X-Forwarded-Proto is not believed.
    assert _settings("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_IP_HEADER="")["SECURE_PROXY_SSL_HEADER"] is None
    # The embedded default (DEBUG off, plain http) keeps them off.
    embedded = _settings(*names, PUBLIC_BASE_URL="http://127.0.0.1:8000", TRUSTED_PROXY_IP_HEADER="")
    assert not any(embedded[name] for name in names)
    bad = _manage("check", SECURE_HSTS_SECONDS="a year")
    assert bad.returncode != 0 and "SECURE_HSTS_SECONDS must be an integer" in bad.stderr


def test_behind_the_proxy_https_is_redirected_to_and_then_kept_to(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get("/privacy/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/privacy/"
    secure = client.get("/privacy/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    for probe in ("/health/", "/healthz?only=database"):  # probes inside the network speak plain HTTP
        assert client.get(probe).status_code == 200, probe


def test_every_page_carries_the_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if " " in part.strip())
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-inline" not in policy
    docs = client.get("/api/docs/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in docs and "script-src 'self';" in docs + ";"
    assert django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"] == ["'self'"]
