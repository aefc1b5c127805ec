"""The volunteers' and hosts' pages in Welsh (docs/languages.md): chosen by the switch's cookie or the browser's
Accept-Language, English by default, unprefixed URLs, caches kept apart, and the language kept on what is booked."""

import html
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import dateformat, timezone, translation
from django.utils.formats import date_format

from notify.sms.models import SmsMessage
from sessions.models import HostStanding
from tests.factories import SlotFactory, UserFactory
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking, PhoneChallenge

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_english_is_the_default_and_the_switch_offers_welsh(client):
    response = client.get("/")
    page = _text(response)
    assert '<html lang="en-GB">' in page and "Your postcode" in page
    assert '<a href="/language/cy/" lang="cy" hreflang="cy" rel="nofollow">Cymraeg</a>' in page
    assert response["Content-Language"] == "en-gb"


def test_a_browser_that_asks_for_welsh_gets_welsh(client):
    response = client.get("/", headers={"accept-language": "cy-GB,cy;q=0.9,en;q=0.5"})
    page = _text(response)
    assert '<html lang="cy">' in page and "Eich cod post" in page and "Chwilio am sesiynau" in page
    assert 'lang="en-GB" hreflang="en-GB" rel="nofollow">English</a>' in page
    assert response["Content-Language"] == "cy"


def test_every_page_varies_by_cookie_and_accept_language_so_no_cache_mixes_them(client):
    neighbourhood()
    for path in ("/", f"/find/?postcode={VOLUNTEER_POSTCODE}", "/privacy/", "/host/login/", "/no-such-page/"):
        vary = {part.strip().lower() for part in client.get(path)["Vary"].split(",")}
        assert {"accept-language", "cookie"} <= vary, path


def test_the_switch_sets_the_cookie_and_goes_back_without_javascript(client):
    area = neighbourhood()
    back = f"/s/{area.session.pk}/?postcode=S10+2TN"
    # The link carries no path (every page's HTML stays the same whatever its URL): the browser's Referer says it.
    response = client.get("/language/cy/", headers={"referer": f"http://testserver{back}"})
    assert response.status_code == 302 and response["Location"] == f"http://testserver{back}"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "cy" and cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE and cookie["samesite"] == "Lax"
    assert "no-store" in response["Cache-Control"]
    page = _text(client.get(back))  # the cookie wins over the browser's English
    assert '<html lang="cy">' in page and "Rhannu'r sesiwn hon" in page
    response = client.get("/language/en-gb/", {"next": back})  # or an explicit next
    assert response["Location"] == back and response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en-gb"
    assert "Share this session" in _text(client.get(back))


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_never_sends_anyone_to_another_site(client, back):
    response = client.get("/language/cy/", {"next": back}, headers={"referer": back})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_switch_knows_only_our_languages_and_only_answers_get(client):
    response = client.get("/language/fr/", {"next": "/"})
    assert response.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.post("/language/cy/", {"next": "/"}).status_code == 405


def test_a_welsh_form_error_is_welsh_next_to_its_field(client):
    area = neighbourhood()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    page = _text(client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}",
                             {"name": "", "phone": "07700 900", "postcode": "S10 2TN", "email": "nope"}))
    assert "Mae problem" in page and "Rhowch eich enw." in page and 'id="id_name_error"' in page
    assert "ticiwch y blwch" in page
    assert Booking.objects.count() == 0


def test_a_booking_made_in_welsh_keeps_welsh_and_its_code_is_texted_in_welsh(client, locmem_sms):
    area = neighbourhood()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    response = client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}",
                           {"name": "Dafydd ap Gwilym", "phone": "07400 900777", "postcode": "S10 2TN",
                            "consent_sms": "on"}, follow=True)
    assert "Edrychwch ar eich ffôn" in _text(response)
    booking = Booking.objects.get(volunteer__phone="+447400900777")
    assert booking.language == "cy"
    assert PhoneChallenge.objects.get(booking=booking).language == "cy"
    body = SmsMessage.objects.filter(to="+447400900777").order_by("-id").values_list("body", flat=True).first()
    assert body.startswith("Cod Frontroom ") and "Mae gennych le ar" in body


def test_a_signed_in_host_who_switches_keeps_the_language_for_their_emails(client):
    host = UserFactory(username="nia", email="nia@example.org", standing=False)
    client.force_login(host)
    client.get("/language/cy/", {"next": "/host/"})
    assert HostStanding.objects.get(host=host).language == "cy"
    assert "Fy sesiynau" in _text(client.get("/host/"))
    # A link on another site switches the page, not the language of the host's emails.
    client.get("/language/en-gb/", {"next": "/host/"}, headers={"sec-fetch-site": "cross-site"})
    assert HostStanding.objects.get(host=host).language == "cy"
    client.get("/language/en-gb/", {"next": "/host/"}, headers={"sec-fetch-site": "same-origin"})
    assert HostStanding.objects.get(host=host).language == "en-gb"


def test_a_host_who_signs_up_in_welsh_is_written_to_in_welsh(client, mailoutbox,
                                                              django_capture_on_commit_callbacks):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    assert '<html lang="cy">' in _text(client.get("/host/signup/"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/host/signup/", {"first_name": "Nia", "email": "nia@example.org",
                                                 "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"})
    assert response.status_code == 302
    assert HostStanding.objects.get(host__email="nia@example.org").language == "cy"
    [email] = mailoutbox  # sent by the Celery task after commit, in the host's language
    assert email.subject.startswith("Cadarnhewch eich cyfeiriad e-bost") and "Cofrestrodd rhywun" in email.body


def test_the_host_sign_up_form_is_welsh_down_to_its_help_text(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    page = _text(client.get("/host/signup/"))
    assert "Dewiswch gyfrinair" in page and "Yr un cyfrinair eto" in page
    # The help text's quotation marks are the characters themselves, so its Welsh is found.
    assert "“Sut rydych yn clywed am archebion”" in page and "How you hear of bookings" not in page


def test_my_bookings_is_welsh_and_its_code_is_texted_in_welsh(client, locmem_sms):
    area = neighbourhood()
    booked = client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}",
                         {"name": "Dafydd", "phone": "07400 900777", "postcode": "S10 2TN", "consent_sms": "on"})
    assert booked.status_code == 302  # booked in English
    client.cookies.clear()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    page = _text(client.get("/my/"))
    assert '<html lang="cy">' in page and "Fy archebion" in page and "Tecstiwch god ataf" in page
    response = client.post("/my/", {"phone": "07400 900777"})
    assert response.status_code == 302
    assert "Teipiwch ef isod i weld eich archebion" in _text(client.get(response["Location"]))
    body = SmsMessage.objects.filter(to="+447400900777").order_by("-id").values_list("body", flat=True).first()
    assert body.startswith("Cod Frontroom ") and "i weld eich archebion" in body


def test_the_needed_sign_up_is_welsh_with_welsh_days_and_a_welsh_code_text(client, locmem_sms):
    area = neighbourhood()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    page = _text(client.get("/needed/"))
    assert '<html lang="cy">' in page and "<th scope=\"col\">Bore<small>9yb–1yp</small></th>" in page
    day = timezone.localtime(area.slot.starts_at).date()
    with translation.override("cy"):
        welsh_day = date_format(day, "l j F")
    with translation.override("en-gb"):
        assert f"{welsh_day}, Gyda'r nos" in page and welsh_day != date_format(day, "l j F")
    response = client.post("/needed/", {"name": "Gwen", "phone": "07400 900778", "postcode": "S10",
                                        "max_travel_km": "10", "when": [f"{day.isoformat()}:evening"],
                                        "consent_sms": "on"})
    assert response.status_code == 302
    assert PhoneChallenge.objects.get(phone="+447400900778").language == "cy"
    body = SmsMessage.objects.filter(to="+447400900778").values_list("body", flat=True).get()
    assert body.startswith("Cod Frontroom ") and "I newid neu stopio wedyn" in body


def test_a_welsh_several_slots_error_names_the_day_in_welsh(client):
    area = neighbourhood()
    overlapping = SlotFactory(session=area.session, starts_at=area.slot.starts_at + timedelta(minutes=30),
                              ends_at=area.slot.ends_at + timedelta(minutes=30), capacity=3)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    response = client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}&slot={overlapping.pk}",
                           {"name": "Dafydd", "phone": "07400 900777", "postcode": "S10 2TN", "consent_sms": "on"})
    page = _text(response)
    start = timezone.localtime(area.slot.starts_at)
    with translation.override("cy"):
        welsh = dateformat.format(start, "D d M H:i")
    with translation.override("en-gb"):
        assert welsh != dateformat.format(start, "D d M H:i")  # "Iau 10 Rhag", not "Thu 10 Dec"
    assert response.status_code == 200 and "yn gorgyffwrdd â" in page and welsh in page
    assert not Booking.objects.exists()
