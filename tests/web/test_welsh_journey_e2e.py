"""The whole volunteer journey in Welsh, in Chromium at 375 px (docs/languages.md): the language switch (a plain
link: no JavaScript needed), a search, a booking, the proof with the texted code (in Welsh), the manage page and the
cancellation. With JavaScript off, and on with axe checking each page."""

import re

import pytest
from playwright.sync_api import expect

from notify.sms.models import SmsMessage
from tests.web.conftest import axe_violations, screenshot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "07400 900321"
E164 = "+447400900321"


def _checked(page, *, axe: bool) -> None:
    """Each page of the journey: Welsh, no wider than the phone, and (with JavaScript) clean for axe."""
    assert page.locator("html").get_attribute("lang") == "cy"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    if axe:
        assert axe_violations(page) == [], page.url


def _welsh_journey(page, live_server, *, axe: bool) -> None:
    area = neighbourhood()
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Find your nearest marginal")).to_be_visible()  # English by default
    switch = page.get_by_role("link", name="Cymraeg")
    assert switch.get_attribute("lang") == "cy"
    switch.click()
    expect(page.get_by_role("link", name="English")).to_have_attribute("lang", "en-GB")
    _checked(page, axe=axe)

    page.get_by_label("Eich cod post").fill(VOLUNTEER_POSTCODE)
    page.get_by_role("button", name="Chwilio am sesiynau").click()
    # Results are the district's (web.page_cache): the heading names it, never the full postcode.
    expect(page.get_by_role("heading", name=f"Sesiynau ger {VOLUNTEER_POSTCODE.split()[0]}", exact=True)).to_be_visible()
    _checked(page, axe=axe)
    if axe:
        screenshot(page, "volunteer-results-cy")
    page.get_by_role("link", name="Crookes Saturday doors").click()
    expect(page.get_by_role("heading", name="Crookes Saturday doors")).to_be_visible()
    _checked(page, axe=axe)
    page.get_by_role("link", name=re.compile(r"^Archebu ")).first.click()

    expect(page.get_by_role("heading", name="Archebu lle")).to_be_visible()
    page.get_by_label("Eich enw").fill("Gwen Jones")
    page.get_by_label("Rhif ffôn symudol").fill("01234")
    page.get_by_label(re.compile("^Tecstiwch fi")).check()
    page.get_by_role("button", name="Archebu fy lle").click()
    expect(page.get_by_role("alert")).to_contain_text("Mae problem")  # the error summary, in Welsh
    _checked(page, axe=axe)
    page.get_by_label("Rhif ffôn symudol").fill(PHONE)
    page.get_by_role("button", name="Archebu fy lle").click()

    expect(page.get_by_role("heading", name="Edrychwch ar eich ffôn")).to_be_visible()
    _checked(page, axe=axe)
    text = SmsMessage.objects.filter(to=E164, kind="phone_code").order_by("-id").values_list("body", flat=True)[0]
    assert text.startswith("Cod Frontroom ") and "Mae gennych le ar Crookes Saturday doors" in text, text
    code = re.search(r"\b(\d{6})\b", text).group(1)
    page.get_by_label("Y cod 6 digid o'r neges destun").fill(code)
    page.get_by_role("button", name="Cadarnhau").click()

    expect(page.get_by_role("heading", name="Eich lle")).to_be_visible()
    expect(page.get_by_text("Mae gennych le. Welwn ni chi yno!")).to_be_visible()
    expect(page.get_by_text("14 Secret Gardens")).to_be_visible()
    expect(page.get_by_role("link", name="Ychwanegu at fy nghalendr")).to_be_visible()
    _checked(page, axe=axe)
    if axe:
        screenshot(page, "volunteer-manage-cy")
    booking = Booking.objects.get(volunteer__phone=E164)
    assert booking.language == "cy" and booking.proven_at is not None and booking.slot_id == area.slot.pk

    page.get_by_role("link", name="Canslo fy lle").click()
    expect(page.get_by_role("heading", name="Canslo eich lle?")).to_be_visible()
    _checked(page, axe=axe)
    page.get_by_role("button", name="Ydw, canslwch fy lle").click()
    expect(page.get_by_text("Fe ganslwch y lle hwn.", exact=False)).to_be_visible()
    _checked(page, axe=axe)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_the_whole_journey_in_welsh_without_javascript(no_js_page, live_server):
    _welsh_journey(no_js_page, live_server, axe=False)


def test_the_whole_journey_in_welsh_with_javascript_is_clean_for_axe(page, live_server, only_local_requests):
    _welsh_journey(page, live_server, axe=True)
