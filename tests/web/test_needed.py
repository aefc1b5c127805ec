""""Send me where I'm needed" through the pages: days x parts of the day, a district for a postcode, and the
sign-up's private page to change or stop (Django test client; the browser journey is test_needed_browser.py)."""

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.services.candidates import problem_build
from notify.sms.models import SmsMessage
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import AvailabilityWindow, PhoneChallenge, Volunteer

pytestmark = pytest.mark.django_db

PHONE, E164 = "07400 900321", "+447400900321"


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _texted(phone: str = E164) -> str:
    return (SmsMessage.objects.filter(to=phone, kind=SmsMessage.Kind.PHONE_CODE).order_by("-id")
            .values_list("body", flat=True).first())


def _code(phone: str = E164) -> str:
    return re.search(r"\b(\d{6})\b", _texted(phone)).group(1)


def _link(phone: str = E164) -> str:
    return re.search(r"https?://[^ ]+(/n/[A-Za-z0-9_-]+)", _texted(phone)).group(1)


def _day(area, days: int = 0) -> str:
    return (timezone.localtime(area.slot.starts_at).date() + timedelta(days=days)).isoformat()


def _sign_up(client, area, **overrides):
    data = {"name": "Grace Hopper", "phone": PHONE, "postcode": VOLUNTEER_POSTCODE, "max_travel_km": "10",
            "when": [f"{_day(area)}:morning", f"{_day(area)}:afternoon", f"{_day(area, 1)}:evening"],
            "consent_sms": "on", **overrides}
    return client.post("/needed/", data)


def _signed_up(client, area, **overrides) -> str:
    """Sign up and type the code; the private page's path."""
    check = _sign_up(client, area, **overrides)
    assert check.status_code == 302, _text(check)
    done = client.post(check["Location"], {"code": _code()})
    assert done.status_code == 302 and done["Location"].startswith("/n/")
    return done["Location"]


def test_the_form_asks_only_what_dispatch_needs_with_a_grid_of_days_and_parts(client, area, settings):
    settings.NEEDED_DAYS = 14
    page = _text(client.get("/needed/"))
    names = set(re.findall(r"<(?:input|select)[^>]* name=\"([a-z_]+)\"", page))
    assert names == {"csrfmiddlewaretoken", "name", "phone", "postcode", "max_travel_km", "travel", "others",
                     "party_names", "when", "consent_sms", "consent_campaign"}
    assert re.search(r'<input type="checkbox" name="consent_campaign"(?![^>]*checked)[^>]*>', page)  # unticked
    assert "<legend>When are you free?</legend>" in page and '<th scope="col">Morning<small>9am–1pm</small></th>' in page
    ticks = re.findall(r'<label class="tick"><input type="checkbox" name="when" value="([0-9-]+:[a-z]+)">'
                       r'<span class="visually-hidden">([^<]+)</span></label>', page)
    # 14 days of three parts, bar today's parts that have ended; each tick named by its day and part.
    assert 39 <= len(ticks) <= 42 and len({value for value, _ in ticks}) == len(ticks)
    in_three_days = timezone.localtime(area.slot.starts_at).date()
    assert (f"{in_three_days.isoformat()}:evening",
            f"{in_three_days:%A} {in_three_days.day} {in_three_days:%B}, Evening") in ticks


def test_signing_up_with_a_district_maps_the_ticks_to_windows(client, area):
    path = _signed_up(client, area, postcode="s10")
    volunteer = Volunteer.objects.get(phone=E164)
    assert (volunteer.postcode, volunteer.seat_id, volunteer.lat) == ("S10", area.hallam.pk, 53.38)
    windows = list(AvailabilityWindow.objects.filter(volunteer=volunteer).order_by("starts_at")
                   .values_list("starts_at", "ends_at"))
    local = [(timezone.localtime(start).strftime("%d %H"), timezone.localtime(end).strftime("%d %H"))
             for start, end in windows]
    day, next_day = _day(area)[-2:], _day(area, 1)[-2:]
    assert local == [(f"{day} 09", f"{day} 17"), (f"{next_day} 17", f"{next_day} 21")]  # adjacent parts joined
    assert path == f"/n/{volunteer.token}"


def test_an_unknown_district_is_said_next_to_the_postcode(client, area):
    response = _sign_up(client, area, postcode="ZZ9")
    page = _text(response)
    assert response.status_code == 200 and 'id="id_postcode_error"' in page
    assert "couldn't find that postcode district" in page and not Volunteer.objects.exists()


def test_nothing_ticked_is_an_error_on_the_grid(client, area):
    page = _text(_sign_up(client, area, when=[]))
    assert 'id="when-error"' in page and "Tick at least one time you are free." in page


def test_the_check_page_of_a_sign_up_holds_no_place(client, area):
    page = _text(client.get(_sign_up(client, area)["Location"]))
    assert "Your place is held" not in page and "Nothing is booked yet" in page


def test_the_code_text_carries_the_private_link_which_before_the_code_asks_for_it(client, area):
    check = _sign_up(client, area)["Location"]
    link = _link()
    assert client.get(link)["Location"] == check  # the holder of the text types its code first
    done = client.post(check, {"code": _code()})
    assert done["Location"] == link
    page = client.get(link)
    text = _text(page)
    assert "You're on the list" in text and "You're signed up." in text and "Nothing is booked yet." in text
    assert "your place is held" not in text.lower()
    assert f'href="{link}/change/"' in text and f'href="{link}/stop/"' in text
    assert page["Cache-Control"] == "private, no-store" and "noindex" in page["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in text


def test_a_link_preview_sees_no_details(client, area):
    link = _signed_up(client, area)
    page = _text(client.get(link, headers={"User-Agent": "WhatsApp/2.23"}))
    assert "You're on the list" in page and "From S10 2TN" not in page
    assert "From S10 2TN" in _text(client.get(link))


def test_change_replaces_the_times_without_script(client, area):
    link = _signed_up(client, area)
    form = _text(client.get(link + "/change/"))
    assert f'value="{_day(area)}:morning" checked' in form and f'value="{_day(area, 1)}:evening" checked' in form
    refused = client.post(link + "/change/", {"when": [], "max_travel_km": "10", "postcode": "S10 2TN"})
    assert refused.status_code == 200 and 'id="when-error"' in _text(refused)
    saved = client.post(link + "/change/", {"when": [f"{_day(area, 2)}:evening"], "max_travel_km": "25",
                                            "postcode": "s10"})
    assert saved.status_code == 302 and saved["Location"] == link
    volunteer = Volunteer.objects.get(phone=E164)
    assert (volunteer.max_travel_km, volunteer.postcode) == (25, "S10")
    assert [timezone.localtime(w.starts_at).hour for w in volunteer.availability.all()] == [17]


def test_stop_is_confirmed_needs_csrf_and_leaves_the_assignment(client, area):
    link = _signed_up(client, area)
    volunteer = Volunteer.objects.get(phone=E164)
    start, end = area.slot.starts_at - timedelta(days=1), area.slot.ends_at + timedelta(days=2)
    assert volunteer.pk in problem_build(date_from=start, date_to=end).volunteer_ids.tolist()
    confirm = _text(client.get(link + "/stop/"))
    assert "Stop sending you?" in confirm and "Yes, stop" in confirm
    assert volunteer.availability.exists()  # asking is not stopping
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(link + "/stop/", {"confirm": "True"}).status_code == 403
    stopped = client.post(link + "/stop/", {"confirm": "True"})
    assert stopped.status_code == 302 and stopped["Location"] == link
    assert not volunteer.availability.exists()
    assert volunteer.pk not in problem_build(date_from=start, date_to=end).volunteer_ids.tolist()
    page = _text(client.get(link))
    assert "You're not on the list" in page and "we won't send you anywhere" in page.lower()


def test_a_newer_proven_sign_up_replaces_the_link(client, area):
    first = _signed_up(client, area)
    second = _signed_up(client, area)
    assert first != second
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    assert client.get(first + "/stop/").status_code == 404
    assert client.post(first + "/stop/", {"confirm": "True"}).status_code == 404


def test_an_unknown_link_is_a_404(client, area):
    assert client.get("/n/not-a-real-sign-up-link").status_code == 404
    assert not PhoneChallenge.objects.exists()


def test_the_results_page_takes_a_district(client, area):
    page = _text(client.get("/find/", {"postcode": "s10"}))
    assert "Crookes Saturday doors" in page and 'id="id_postcode_error"' not in page
    unknown = _text(client.get("/find/", {"postcode": "ZZ9"}))
    assert 'id="id_postcode_error"' in unknown and "couldn't find that postcode district" in unknown


def test_a_booking_takes_a_district(client, area):
    response = client.post(f"/s/{area.slot.session_id}/book/?slot={area.slot.pk}",
                           {"name": "Ada", "phone": PHONE, "postcode": "S10", "consent_sms": "on"})
    assert response.status_code == 302 and Volunteer.objects.get(phone=E164).postcode == "S10"


def test_staff_and_exports_never_read_the_sign_up_link(client, area):
    from notify.sms.serializers import body_redacted
    from volunteers.privacy import volunteer_data_export
    from web.templatetags.coordinator_tags import redact_links

    link = _signed_up(client, area)
    token = link.removeprefix("/n/")
    message = SmsMessage.objects.get(to=E164, kind=SmsMessage.Kind.PHONE_CODE)
    assert token in message.body
    assert token not in body_redacted(message) and "/n/<private link>" in body_redacted(message)
    assert token not in redact_links(message.body)
    assert token not in str(volunteer_data_export(volunteer=Volunteer.objects.get(phone=E164)))


def test_a_sign_ups_code_typed_on_the_my_bookings_code_page_leads_to_its_page(client, area):
    # Both code pages share where a right code leads: a sign-up's code typed at /my/check/ once pointed at a page
    # that no longer exists (a 500).
    check = _sign_up(client, area)
    token = check["Location"].rstrip("/").rsplit("/", 1)[-1]
    done = client.post(f"/my/check/{token}/", {"code": _code()})
    assert done.status_code == 302 and done["Location"].startswith("/n/")


def test_a_driver_says_so_and_a_rider_can_change_to_needing_a_lift(client, area):
    link = _signed_up(client, area, travel="driver:3")
    volunteer = Volunteer.objects.get(phone=E164)
    assert (volunteer.travel, volunteer.car_seats) == ("driver", 3)
    client.post(link + "/change/", {"when": [f"{_day(area, 2)}:evening"], "max_travel_km": "25", "postcode": "s10",
                                    "travel": "needs_lift"})
    volunteer.refresh_from_db()
    assert (volunteer.travel, volunteer.car_seats) == ("needs_lift", 0)
    assert 'value="needs_lift" selected' in _text(client.get(link + "/change/"))  # the change form shows the answer
    odd = client.post("/needed/", {"name": "Sam", "phone": "07400 111444", "postcode": "S10 2TN",
                                   "max_travel_km": "10", "when": [f"{_day(area)}:morning"], "consent_sms": "on",
                                   "travel": "driver:0"})
    assert odd.status_code == 200 and not Volunteer.objects.filter(name="Sam").exists()  # not one of the choices


def test_a_party_signs_up_together_and_changes_its_size(client, area):
    link = _signed_up(client, area, others="2", party_names="Ada, Alan")
    volunteer = Volunteer.objects.get(phone=E164)
    assert (volunteer.party_size, volunteer.party_names) == (3, "Ada, Alan")
    assert "With 2 others: we send all of you to the same place." in _text(client.get(link))
    assert 'value="2" selected' in _text(client.get(link + "/change/"))
    client.post(link + "/change/", {"when": [f"{_day(area, 2)}:evening"], "max_travel_km": "25", "postcode": "s10",
                                    "others": "1", "party_names": "Ada"})
    volunteer.refresh_from_db()
    assert (volunteer.party_size, volunteer.party_names) == (2, "Ada")


def test_a_party_too_big_or_with_too_many_names_is_said_next_to_the_field(client, area, settings):
    too_many = _sign_up(client, area, others="1", party_names="Ada, Alan")
    assert too_many.status_code == 200 and 'id="id_party_names_error"' in _text(too_many)
    assert "Give at most 1 name: the others coming with you." in _text(too_many)
    too_big = _sign_up(client, area, others="9")
    assert too_big.status_code == 200 and 'id="id_others_error"' in _text(too_big)
    assert not Volunteer.objects.exists()
