"""load_demo says where each demo account can sign in, and it is true (issue 22: it sent hosts to /admin/)."""

from io import StringIO

import pytest
from django.core.management import call_command

from dispatch.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # the whole demo data set, loaded by the command


def _sign_in(client, path: str, username: str):
    return client.post(path, {"username": username, "password": DEMO_PASSWORD})


def test_load_demo_sends_each_account_where_it_can_sign_in(client):
    out = StringIO()
    call_command("load_demo", stdout=out)
    said = out.getvalue()
    assert "Sign in at /admin/ as 'coordinator' (or a host" not in said
    host_line = next(line for line in said.splitlines() if "priya@example.org" in line)
    assert "/host/login/" in host_line and "email address" in host_line and "not /admin/" in host_line
    # What it says holds: priya signs in at /host/login/ with her email and reaches /host/; the admin refuses her.
    assert _sign_in(client, "/host/login/", "priya@example.org").status_code == 302
    assert client.get("/host/").status_code == 200
    assert client.get("/admin/").status_code == 302  # back to the admin's own login: not staff
    client.logout()
    coordinator_line = next(line for line in said.splitlines() if "'coordinator'" in line)
    assert "/host/login/" in coordinator_line and "/coordinate/" in coordinator_line and "/admin/" in coordinator_line
    assert "coordinator@example.org" in coordinator_line
    assert _sign_in(client, "/host/login/", "coordinator@example.org").status_code == 302
    assert client.get("/coordinate/").status_code == 200
    assert client.get("/admin/").status_code == 200
