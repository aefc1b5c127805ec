"""Results first, in Chromium on a 375×740 phone (issue 22): the first session card starts on the first screen,
with JavaScript off and on; "Change" reaches the form without script; axe-clean. And the consent checkbox is a
proper tap target whose label ticks it."""

import pytest
from playwright.sync_api import expect

from tests.factories import CanvassSessionFactory, SlotFactory
from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOLD = {"width": 375, "height": 740}


@pytest.fixture
def area():
    area = neighbourhood()
    for index in range(12):  # a realistic page: a dozen sessions, two slots each
        session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title=f"Hallam doors {index + 1}",
                                        starts_at=area.slot.starts_at, ends_at=area.full_slot.ends_at)
        SlotFactory(session=session, starts_at=area.slot.starts_at, ends_at=area.slot.ends_at)
        SlotFactory(session=session, starts_at=area.full_slot.starts_at, ends_at=area.full_slot.ends_at)
    return area


@pytest.fixture(params=[False, True], ids=["no-js", "js"])
def phone(request, browser, live_server):
    context = browser.new_context(viewport=FOLD, java_script_enabled=request.param, locale="en-GB",
                                  timezone_id="Europe/London")
    yield context.new_page(), request.param
    context.close()


def test_the_first_card_is_above_the_fold_and_change_needs_no_script(phone, live_server, area):
    page, javascript = phone
    page.goto(f"{live_server.url}/find/?postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}")
    first = page.locator("ol.session-list > li").first
    box = first.bounding_box()
    assert box["y"] + 120 < FOLD["height"], box  # its title, priority and first slot on the first screen
    expect(first.get_by_role("heading")).to_be_in_viewport()
    expect(first.get_by_text("Top priority: won by 2,353 votes")).to_be_in_viewport()
    expect(page.get_by_text("14 sessions within 25 km, any day")).to_be_in_viewport()
    if javascript:  # axe runs as a script in the page: with script off the layout above is the point
        assert axe_violations(page) == []
    screenshot(page, f"volunteer-results-first-{'js' if javascript else 'no-js'}")
    page.get_by_role("link", name="Change the search").click()
    assert page.url.endswith("#search")
    expect(page.get_by_label("Your postcode")).to_be_in_viewport()
    expect(page.get_by_label("Your postcode")).to_have_value("S10")  # the district's page, shared by all in it
    seats = page.get_by_role("region", name="The seats that matter near you")
    seats.get_by_role("link", name="Sessions in Sheffield Hallam").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions in Sheffield Hallam near S10")
    if javascript:
        assert axe_violations(page) == []


def test_the_consent_checkbox_is_a_tap_target_its_label_ticks(page, live_server, area):
    page.set_viewport_size(FOLD)
    page.goto(f"{live_server.url}/s/{area.session.pk}/book/?slot={area.slot.pk}")
    box = page.get_by_role("checkbox", name="Text me", exact=False).bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24, box
    consent = page.get_by_role("checkbox", name="Text me", exact=False)
    page.locator("label[for=id_consent_sms]").click(position={"x": 200, "y": 5})
    expect(consent).to_be_checked()
    screenshot(page, "volunteer-book-consent")
