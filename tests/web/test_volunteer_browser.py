"""The volunteers' pages in Chromium at 375 px: accessibility (axe), page weight, screenshots, no other host."""

import pytest

from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking, Volunteer

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
    volunteer = Volunteer.objects.create(phone="+447700900123", name="Ada Lovelace", postcode=VOLUNTEER_POSTCODE,
                                         lat=53.381, lng=-1.49, consent_sms=True)
    return Booking.objects.create(volunteer=volunteer, slot=area.slot, status=Booking.Status.CONFIRMED)


def _pages(area, booking) -> dict[str, str]:
    return {
        "home": "/",
        "results": f"/find/?postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}",
        "session": f"/s/{area.session.pk}/",
        "book": f"/s/{area.session.pk}/book/?slot={area.slot.pk}&postcode={VOLUNTEER_POSTCODE.replace(' ', '+')}",
        "book-full": f"/s/{area.session.pk}/book/?slot={area.full_slot.pk}",
        "check": "/check/a-challenge-token-for-the-page/",
        "manage": f"/b/{booking.manage_token}",
        "cancel": f"/b/{booking.manage_token}/cancel/",
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
        if name in ("home", "results", "session", "book", "manage"):
            screenshot(page, f"volunteer-{name}")
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
    assert page.get_by_role("alert").is_visible()
    assert axe_violations(page) == []
