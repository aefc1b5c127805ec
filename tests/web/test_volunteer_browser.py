"""The volunteers' pages in Chromium at 375 px: accessibility (axe), page weight, screenshots, no other host."""

import pytest
from playwright.sync_api import expect

from tests.factories import BookingFactory
from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_WEIGHT_LIMIT = 30 * 1024

# Bytes as they came over the wire (compressed where the server compressed them), the document and every
# stylesheet, script and image it loaded.
_TRANSFERRED = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .reduce((sum, entry) => sum + entry.encodedBodySize, 0)"""


@pytest.fixture
def area():
    return neighbourhood()


@pytest.fixture
def booking(area):
    return BookingFactory(volunteer__phone="+447700900123", volunteer__name="Ada Lovelace",
                          volunteer__postcode=VOLUNTEER_POSTCODE, volunteer__lat=53.381, volunteer__lng=-1.49,
                          volunteer__consent_sms=True, slot=area.slot)


def _pages(area, booking) -> dict[str, str]:
    return {
        "home": "/",
        "results": f"/find/?postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}",
        "session": f"/s/{area.session.pk}/",
        "book": f"/s/{area.session.pk}/book/?slot={area.slot.pk}&postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}",
        "book-full": f"/s/{area.session.pk}/book/?slot={area.full_slot.pk}",
        "check": "/check/a-challenge-token-for-the-page/",
        "prove": f"/b/{booking.manage_token}",  # unproven: "This is my phone", pressed below
        "manage": f"/b/{booking.manage_token}",
        "email": f"/b/{booking.manage_token}/email/",
        "cancel": f"/b/{booking.manage_token}/cancel/",
        "move": f"/b/{booking.manage_token}/move/",
        "data": f"/b/{booking.manage_token}/data/",
        "needed": "/needed/",
        "privacy": "/privacy/",
    }


def test_every_volunteer_page_is_light_accessible_and_local(page, live_server, area, booking, only_local_requests):
    weights, problems = {}, {}
    for name, path in _pages(area, booking).items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        weights[name] = page.evaluate(_TRANSFERRED)
        violations = axe_violations(page)
        if violations:
            problems[name] = violations
        if name in ("home", "results", "session", "book", "manage", "move"):
            screenshot(page, f"volunteer-{name}")
        if name == "prove":
            page.get_by_role("button", name="This is my phone: show me the address").click()
            expect(page.get_by_text("14 Secret Gardens")).to_be_visible()
    assert problems == {}
    assert {name: size for name, size in weights.items() if size > PAGE_WEIGHT_LIMIT} == {}, weights
    assert all(size > 1000 for size in weights.values()), weights  # the measure saw the page itself


def test_form_errors_are_accessible_too(page, live_server, area):
    page.goto(live_server.url + f"/s/{area.session.pk}/book/?slot={area.slot.pk}")
    page.get_by_role("button", name="Book my place").click()
    alert = page.get_by_role("alert")
    assert "There is a problem" in alert.inner_text()
    assert page.get_by_label("Your name").get_attribute("aria-invalid") == "true"
    assert axe_violations(page) == []
    page.goto(live_server.url + "/find/?postcode=nonsense")
    expect(page.get_by_role("alert")).to_be_visible()
    assert axe_violations(page) == []


def test_choose_another_slot_in_one_step_without_javascript(no_js_page, live_server, area, booking):
    """From the private page to another session's slot in one form, script off: the new place shows its address,
    the old page points at it, and the old slot has its place back."""
    page = no_js_page
    page.goto(f"{live_server.url}/b/{booking.manage_token}")
    expect(page.get_by_role("link", name="Choose another slot")).to_have_count(0)  # not before the proof
    page.get_by_role("button", name="This is my phone: show me the address").click()
    page.get_by_role("link", name="Choose another slot").click()
    expect(page.get_by_role("heading", name="Choose another slot")).to_be_visible()
    expect(page.get_by_role("group", name="Other slots of this session").get_by_role("radio")).to_have_count(1)
    page.get_by_role("button", name="Move me to this slot").click()  # nothing chosen: said, nothing changes
    expect(page.get_by_role("alert")).to_contain_text("Choose a slot.")
    page.get_by_role("group", name="Or a session nearby with places left").get_by_label(
        "City centre evening", exact=False).check()
    page.get_by_role("button", name="Move me to this slot").click()
    expect(page.get_by_role("status").first).to_contain_text("this is your new place")
    expect(page.get_by_text("2 Other Street")).to_be_visible()
    new = Booking.objects.get(volunteer=booking.volunteer, slot=area.other_slot)
    assert page.url.endswith(f"/b/{new.manage_token}")
    page.goto(f"{live_server.url}/b/{booking.manage_token}")
    expect(page.get_by_role("status").first).to_contain_text("You moved to another slot")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_the_date_filter_takes_a_uk_date_typed_on_the_keyboard(page, live_server, area):
    """Chromium runs in en-GB (--lang, the context's locale): the picker reads 06/12/2026 as 6 December."""
    page.goto(live_server.url + f"/find/?postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}")
    assert page.evaluate("navigator.language") == "en-GB"
    page.get_by_text("Dates and distance").click()
    field = page.get_by_label("From")
    field.focus()  # the first part of the date: the day, in en-GB
    page.keyboard.type("06122026")
    assert field.input_value() == "2026-12-06"
