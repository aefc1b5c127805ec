""""Send me where I'm needed" in Chromium at 375 px, script on and off: sign up with a district, the page the
code leads to, change, stop; axe clean at every step, and the form a phone's screen or two tall."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from tests.web.conftest import PHONE_VIEWPORT, axe_violations, screenshot
from tests.web.volunteer_data import neighbourhood
from volunteers.models import Volunteer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

E164 = "+447400900321"
# The form before days x parts: 2,234 px at 375 px, its date and time blocks most of it (issue 22).
OLD_FORM_HEIGHT = 2234


@pytest.fixture
def area():
    return neighbourhood()


def _tick_label(day) -> str:
    return date_format(day, "l j F")


def _code() -> str:
    body = SmsMessage.objects.filter(to=E164, kind=SmsMessage.Kind.PHONE_CODE).order_by("-id").values_list(
        "body", flat=True).first()
    return re.search(r"\b(\d{6})\b", body).group(1)


def _no_problems(page, script: bool) -> None:
    """axe runs in the page, so only with script on; the same pages are checked in that run."""
    if script:
        assert axe_violations(page) == []


# Each tick's cell (its label): the tap target.
_TAP_TARGETS = """() => Array.from(document.querySelectorAll('fieldset.when input[type=checkbox]'))
    .map(input => { const box = input.parentElement.getBoundingClientRect(); return [box.width, box.height]; })"""


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_sign_up_with_a_district_then_change_then_stop(browser, live_server, area, script):
    context = browser.new_context(viewport=PHONE_VIEWPORT, java_script_enabled=script, locale="en-GB",
                                  timezone_id="Europe/London")
    page = context.new_page()
    day = timezone.localtime(area.slot.starts_at).date()
    page.goto(live_server.url + "/needed/")
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\n/needed/ at 375 px: {height} px tall (was {OLD_FORM_HEIGHT})")
    assert height < OLD_FORM_HEIGHT * 0.85
    _no_problems(page, script)
    grid = page.get_by_role("group", name="When are you free?")
    if script:  # every tick's tap target is at least 24 px square (WCAG 2.5.8)
        targets = page.evaluate(_TAP_TARGETS)
        assert len(targets) >= 39 and all(width >= 24 and height >= 24 for width, height in targets), targets
    if script:
        screenshot(page, "volunteer-needed")

    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Mobile number").fill("07400 900321")
    page.get_by_label("Your postcode").fill("s10")
    page.get_by_label("How far will you travel?").select_option("25")
    grid.get_by_role("checkbox", name=f"{_tick_label(day)}, Morning").check()
    grid.get_by_role("checkbox", name=f"{_tick_label(day)}, Afternoon").check()
    page.get_by_role("checkbox", name=re.compile("^Text me")).check()
    page.get_by_role("button", name="Sign me up").click()

    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    expect(page.get_by_text("Nothing is booked yet")).to_be_visible()
    _no_problems(page, script)
    page.get_by_label("The 6-digit code from the text").fill(_code())
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="You're on the list")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You're signed up")
    expect(page.get_by_text("From S10, up to 25 km away.")).to_be_visible()
    volunteer = Volunteer.objects.get(phone=E164)
    assert page.url.endswith(f"/n/{volunteer.token}") and volunteer.availability.count() == 1
    _no_problems(page, script)
    if script:
        screenshot(page, "volunteer-needed-done")

    page.get_by_role("link", name="Change my days").click()
    expect(page.get_by_role("checkbox", name=f"{_tick_label(day)}, Morning")).to_be_checked()
    page.get_by_role("checkbox", name=f"{_tick_label(day)}, Afternoon").uncheck()
    page.get_by_role("checkbox", name=f"{_tick_label(day + timedelta(days=1))}, Evening").check()
    _no_problems(page, script)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    assert volunteer.availability.count() == 2

    page.get_by_role("link", name="Stop sending me").click()
    expect(page.get_by_role("heading", name="Stop sending you?")).to_be_visible()
    _no_problems(page, script)
    page.get_by_role("button", name="Yes, stop").click()
    expect(page.get_by_role("heading", name="You're not on the list")).to_be_visible()
    assert not volunteer.availability.exists()
    _no_problems(page, script)
    context.close()
