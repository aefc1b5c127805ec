"""The reminders page in Chromium at 375 px: readable by role, no horizontal scroll, no axe violations."""

import pytest
from playwright.sync_api import expect

from tests.web import coordinator_data as data
from tests.web.conftest import axe_violations
from tests.web.test_sms_reminders_page import tonight  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_reminders_plan_reads_well_on_a_phone(page, live_server, tonight):  # noqa: F811
    data.staff()
    page.goto(live_server.url + "/coordinate/sms/reminders/")
    page.get_by_label("Email address").fill("coord")
    page.get_by_label("Password").fill("a-long-password-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Day-before reminder texts")).to_be_visible()
    expect(page.get_by_text("2 reminders do not fit in the window at this rate")).to_be_visible()
    page.get_by_role("link", name="Refresh").click()
    expect(page.get_by_role("heading", name="The plan")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == [], page.url
