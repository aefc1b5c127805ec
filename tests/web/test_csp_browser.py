"""The main pages under the Content-Security-Policy in Chromium: no violation on any of them.

The policy is the production one (config/settings.py; only upgrade-insecure-requests, which needs HTTPS, is
left out by the live server's plain HTTP). A violation shows both as a ``securitypolicyviolation`` event (caught
by a script Playwright injects before the page's own, outside the policy) and as a "Refused to ..." console
message; either fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from dispatch.models import AssignmentRun
from tests.factories import AssignmentRunFactory, BookingFactory
from tests.web import coordinator_data as data
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-password-9"
_LISTEN = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
    window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber));"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it reports collected per URL."""
    refused: list[str] = []
    page.add_init_script(_LISTEN)
    page.on("console", lambda message: refused.append(f"{page.url}: {message.text}")
            if "Refused to" in message.text or "Content Security Policy" in message.text else None)
    return page, refused


def _visit(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # late violations (a script's inline style) are reported asynchronously
    return page.evaluate("window.__cspViolations")


def test_the_main_pages_work_under_the_content_security_policy(watched, live_server, settings):
    page, refused = watched
    area = neighbourhood()
    booking = BookingFactory(volunteer__phone="+447700900123", volunteer__name="Ada Lovelace",
                             volunteer__postcode=VOLUNTEER_POSTCODE, volunteer__lat=53.381, volunteer__lng=-1.49,
                             volunteer__consent_sms=True, slot=area.slot)
    coordinated = data.area(waiting=2)
    data.staff(password=PASSWORD)
    run = AssignmentRunFactory(params={}, state=AssignmentRun.State.RUNNING, progress=40)
    base = live_server.url
    postcode = VOLUNTEER_POSTCODE.replace(" ", "+")
    violations: dict[str, list[str]] = {}

    for path in ("/", f"/find/?postcode={postcode}", f"/s/{area.session.pk}/",
                 f"/s/{area.session.pk}/book/?slot={area.slot.pk}&postcode={postcode}",
                 "/check/a-challenge-token-for-the-page/", f"/b/{booking.manage_token}",
                 f"/b/{booking.manage_token}/cancel/", "/needed/", "/privacy/", "/host/login/", "/api/docs/"):
        violations[path] = _visit(page, base + path)
    expect(page.locator("#swagger-ui")).to_contain_text("Frontroom API", timeout=30_000)  # the docs UI ran
    violations["/api/docs/"] = page.evaluate("window.__cspViolations")

    page.goto(base + "/coordinate/")  # to the sign-in page, and back here once signed in
    page.get_by_label("Email address").fill("coord")  # staff: a username works too
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/coordinate/$"))
    for path in ("/coordinate/", "/coordinate/?colouring=fill", f"/coordinate/seats/{coordinated.full.pk}/",
                 f"/coordinate/overflow/?seat={coordinated.full.pk}", "/coordinate/sms/", "/coordinate/runs/",
                 f"/coordinate/runs/{run.pk}/", "/host/"):
        violations[path] = _visit(page, base + path)

    assert {path: found for path, found in violations.items() if found} == {}
    assert refused == []
