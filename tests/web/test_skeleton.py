"""The base layout: served by Django itself, accessible, and asking no other host for anything."""

import pytest
from playwright.sync_api import expect

from tests.web.conftest import axe_violations


def test_home_answers_html_with_a_skip_link(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b'href="#main"' in response.content


def test_unknown_page_is_a_friendly_html_404_but_unknown_api_url_is_json(client, db):
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_api_docs_are_served_offline(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content and b"unpkg" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


@pytest.mark.e2e
def test_home_in_chromium_is_accessible_and_local(page, live_server, only_local_requests):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Find your nearest marginal")).to_be_visible()
    assert axe_violations(page) == []
