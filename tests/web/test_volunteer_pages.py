"""The volunteers' pages through the Django test client: what each page says, form errors, and junk input."""

import html

import pytest
from django.urls import reverse
from icalendar import Calendar

from tests.factories import BookingFactory, VolunteerFactory
from tests.web.volunteer_data import ADDRESS, VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_home_offers_the_postcode_box_and_the_dispatch_sign_up(client):
    page = _text(client.get("/"))
    assert "Find your nearest marginal" in page
    assert 'action="/find/"' in page and 'name="postcode"' in page
    assert 'href="/needed/"' in page


def test_results_without_a_query_just_ask_for_the_postcode(client):
    page = _text(client.get("/find/"))
    assert 'name="postcode"' in page and 'role="alert"' not in page


def test_results_explain_the_seat_and_list_slots_in_plain_words(client, area):
    response = client.get("/find/", {"postcode": "s102tn"})
    page = _text(response)
    assert response.status_code == 200
    assert "Sessions near S10" in page  # the district's page, shared by everyone in it (web.page_cache)
    assert "S10 2TN" not in page and "S102TN" not in page.upper()
    assert "Sheffield Hallam: Won by 2,353 votes (4.2%)." in page
    assert "Crookes Saturday doors" in page and "City centre evening" in page
    assert "3 places left" in page and "full: waitlist open" in page
    assert " km" in page
    assert f"?slot={area.slot.pk}" in page
    assert f"?slot={area.started_slot.pk}" not in page  # started slots are not offered
    assert "Walkley doors this morning" not in page  # nor sessions left with none
    assert ADDRESS.split("\n")[0] not in page


def test_results_put_the_top_priority_seat_first_even_when_a_little_further(client, area):
    page = _text(client.get("/find/", {"postcode": VOLUNTEER_POSTCODE}))
    # The City centre session is nearer to S10 2TN's point than Crookes? Either way priority 1 leads.
    assert page.index("Crookes Saturday doors") < page.index("City centre evening")


def test_results_filter_by_date_and_distance(client, area):
    day = area.other_session.starts_at.date()
    page = _text(client.get("/find/", {"postcode": VOLUNTEER_POSTCODE, "date_from": day.isoformat(),
                                       "date_to": day.isoformat(), "within": "5"}))
    assert "Sessions near S10<" in page
    tomorrow_none = _text(client.get("/find/", {"postcode": VOLUNTEER_POSTCODE, "date_to": "2000-01-01"}))
    assert "No sessions with a place to offer" in tomorrow_none


@pytest.mark.parametrize("postcode, message", [
    ("not a postcode", "doesn't look like a UK postcode"),
    ("ZZ9 9ZZ", "couldn't find that postcode"),
    ("", "Enter your postcode."),
])
def test_a_bad_or_unknown_postcode_is_a_friendly_message_on_the_same_page(client, area, postcode, message):
    response = client.get("/find/", {"postcode": postcode})
    page = _text(response)
    assert response.status_code == 200
    assert message in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert 'aria-describedby="id_postcode_error"' in page


@pytest.mark.parametrize("query", [
    {"postcode": VOLUNTEER_POSTCODE, "page": "99999999999999999999"},
    {"postcode": VOLUNTEER_POSTCODE, "page": "-1"},
    {"postcode": VOLUNTEER_POSTCODE, "page": "²"},
    {"postcode": VOLUNTEER_POSTCODE, "within": "1e308"},
    {"postcode": VOLUNTEER_POSTCODE, "date_from": "2026-13-45"},
    {"postcode": VOLUNTEER_POSTCODE, "date_from": "2026-12-10", "date_to": "2026-12-01"},
    {"postcode": "x" * 5000},
    {"postcode": "\x00"},
])
def test_junk_query_strings_never_break_the_results_page(client, area, query):
    assert client.get("/find/", query).status_code == 200


@pytest.mark.parametrize("pool", [40, 10])
def test_paging_walks_every_session_once(client, area, monkeypatch, pool):
    """Inside the ranked pool and past it (a pool of 10: page 1 ranked, pages 2 and 3 nearest first)."""
    from dispatch.services import suggestions
    from tests.factories import CanvassSessionFactory, SlotFactory

    monkeypatch.setattr(suggestions, "RANKED_POOL", pool)

    for index in range(23):
        session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title=f"Extra session {index:02d}",
                                        starts_at=area.slot.starts_at, ends_at=area.slot.ends_at)
        SlotFactory(session=session)
    seen, url, pages = [], reverse("volunteer:find") + f"?postcode={VOLUNTEER_POSTCODE}", 0
    while url and pages < 10:
        response = client.get(url)
        seen += [s["id"] for s in response.context["sessions"]]
        url, pages = response.context["next_url"], pages + 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25


def test_session_page_is_shareable_and_never_shows_the_address(client, area):
    response = client.get(f"/s/{area.session.pk}/")
    page = _text(response)
    assert response.status_code == 200
    assert "<title>Crookes Saturday doors, Sheffield Hallam · Frontroom</title>" in page
    assert 'property="og:title" content="Crookes Saturday doors, Sheffield Hallam"' in page
    assert 'name="description" content="Canvass session in Sheffield Hallam (S10 area)' in page
    assert f'property="og:url" content="http://testserver/s/{area.session.pk}/"' in page
    assert "S10 area" in page and "Comfy shoes, a pen" in page and "Step-free front door" in page
    assert "3 places left" in page and "Join the waitlist" in page
    for private in ("Secret Gardens", "S10 1ZZ", "Priya", "Crookes Road"):
        assert private not in page


@pytest.mark.parametrize("path", [
    "/s/0/", "/s/99999999999999999999/", "/s/abc/", "/s/1/book/?slot=x",
])
def test_unknown_sessions_are_a_404_page(client, area, path):
    response = client.get(path)
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_session_whose_slots_have_all_started_offers_none(client, area):
    page = _text(client.get(f"/s/{area.started_session.pk}/"))
    assert "Every slot of this session has started" in page
    assert f"slot={area.started_slot.pk}" not in page


def test_a_cancelled_session_is_not_found(client, area):
    area.session.status = "cancelled"
    area.session.save()
    assert client.get(f"/s/{area.session.pk}/").status_code == 404


@pytest.mark.parametrize("slot", ["", "abc", "99999999999999999999", "-3", "started", "other"])
def test_booking_a_slot_that_is_not_offered_goes_back_to_the_session(client, area, slot):
    session = area.started_session if slot == "started" else area.session
    slot_id = {"started": area.started_slot.pk, "other": area.other_slot.pk}.get(slot, slot)
    response = client.get(f"/s/{session.pk}/book/", {"slot": slot_id})
    assert response.status_code == 302 and response["Location"] == f"/s/{session.pk}/"


def test_booking_form_is_prefilled_and_labelled(client, area):
    page = _text(client.get(f"/s/{area.session.pk}/book/", {"slot": area.slot.pk, "postcode": VOLUNTEER_POSTCODE}))
    assert f'value="{VOLUNTEER_POSTCODE}"' in page
    for label in ("Your name", "Mobile number", "Your postcode", "Email (optional)", "Text me about my bookings"):
        assert label in page
    assert 'aria-describedby="id_phone_helptext"' in page
    assert 'href="/privacy/"' in page


def test_booking_form_errors_sit_next_to_their_fields(client, area):
    response = client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}",
                           {"name": "", "phone": "07700 900", "postcode": "S10 2TN", "email": "nope"})
    page = _text(response)
    assert response.status_code == 200
    assert 'role="alert"' in page and "There is a problem" in page
    assert 'id="id_name_error"' in page and "Enter your name." in page
    assert "tick the box" in page
    assert 'aria-describedby="id_email_error"' in page
    assert Booking.objects.count() == 0


def test_service_errors_come_back_as_field_errors(client, area):
    response = client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}",
                           {"name": "Ada", "phone": "020 7946 0000", "postcode": "S10 2TN", "consent_sms": "on"})
    page = _text(response)
    assert response.status_code == 200
    assert "Enter a UK mobile number" in page and 'id="id_phone_error"' in page
    assert Booking.objects.count() == 0


def test_a_full_slot_offers_the_waitlist_and_alternatives_in_neighbouring_seats(client, area):
    page = _text(client.get(f"/s/{area.session.pk}/book/", {"slot": area.full_slot.pk, "postcode": VOLUNTEER_POSTCODE}))
    assert "This slot is full" in page and "Join the waitlist" in page
    assert f"slot={area.slot.pk}" in page  # the same session's other slot
    assert "City centre evening" in page and "neighbouring seat" in page


def _booking(area, status=Booking.Status.CONFIRMED) -> Booking:

    volunteer = VolunteerFactory(phone="+447700900123", name="Ada Lovelace", postcode=VOLUNTEER_POSTCODE,
                                 lat=53.381, lng=-1.49, consent_sms=True)
    return BookingFactory(volunteer=volunteer, slot=area.slot, status=status)


def test_manage_page_shows_the_address_host_and_turf_of_a_confirmed_booking(client, area):
    booking = _booking(area)
    unproven = _text(client.get(f"/b/{booking.manage_token}"))
    assert "Secret Gardens" not in unproven and "This is my phone: show me the address" in unproven
    client.post(f"/b/{booking.manage_token}/prove/")
    page = _text(client.get(f"/b/{booking.manage_token}"))
    assert "You're booked" in page and "This is my phone" not in page
    assert "14 Secret Gardens" in page and "S10 1ZZ" in page and "Priya" in page and "Odd numbers of Crookes Road" in page
    assert f"/b/{booking.manage_token}/calendar.ics" in page and f"/b/{booking.manage_token}/cancel/" in page


def test_manage_page_of_a_waitlisted_booking_hides_the_address(client, area):
    booking = _booking(area, status=Booking.Status.WAITLISTED)
    assert "This is my phone: keep my turn" in _text(client.get(f"/b/{booking.manage_token}"))
    client.post(f"/b/{booking.manage_token}/prove/")
    page = _text(client.get(f"/b/{booking.manage_token}"))
    assert "On the waitlist" in page
    assert "Secret Gardens" not in page and "Priya" not in page and "Crookes Road" not in page


@pytest.mark.parametrize("path", ["/b/not-a-real-token-at-all", "/b/short", "/b/%00%00%00%00%00%00%00%00",
                                  "/b/not-a-real-token-at-all/calendar.ics", "/b/not-a-real-token-at-all/cancel/"])
def test_unknown_private_links_are_a_404_page(client, area, path):
    assert client.get(path).status_code == 404


def test_calendar_file_is_one_event_with_a_stable_uid_and_the_address_only_when_allowed(client, area):
    booking = _booking(area)
    unproven = Calendar.from_ical(client.get(f"/b/{booking.manage_token}/calendar.ics").content).walk("VEVENT")[0]
    assert "Secret Gardens" not in unproven.to_ical().decode()  # and the download proved nothing
    client.post(f"/b/{booking.manage_token}/prove/")
    first = client.get(f"/b/{booking.manage_token}/calendar.ics")
    assert first["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(first.content).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert "Secret Gardens" in str(event["LOCATION"])
    assert event.decoded("DTSTART") == area.slot.starts_at
    again = Calendar.from_ical(client.get(f"/b/{booking.manage_token}/calendar.ics").content).walk("VEVENT")[0]
    assert again["UID"] == event["UID"]
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.WAITLISTED)
    hidden = Calendar.from_ical(client.get(f"/b/{booking.manage_token}/calendar.ics").content).walk("VEVENT")[0]
    assert "Secret Gardens" not in hidden.to_ical().decode() and "S10" in str(hidden["LOCATION"])


def test_cancel_asks_first_then_cancels_and_shows_it(client, area):
    booking = _booking(area)
    confirm = client.get(f"/b/{booking.manage_token}/cancel/")
    assert "Yes, cancel my place" in _text(confirm)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    done = client.post(f"/b/{booking.manage_token}/cancel/", {"confirm": "True"}, follow=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert "Your place is cancelled" in _text(done) and "You cancelled this place." in _text(done)
    again = client.post(f"/b/{booking.manage_token}/cancel/", {"confirm": "True"})
    assert again.status_code == 302


def test_decline_on_a_booking_that_was_not_redirected_says_so(client, area):
    booking = _booking(area)
    response = client.post(f"/b/{booking.manage_token}/decline/", follow=True)
    assert response.status_code == 200 and "not redirected" in _text(response)


def test_privacy_page_says_what_why_how_long_and_how_to_delete(client):
    page = _text(client.get("/privacy/"))
    for heading in ("What we store", "Why", "For how long", "See or delete them"):
        assert heading in page


def test_needed_form_errors_sit_next_to_their_fields_all_at_once(client, area):
    response = client.post("/needed/", {"name": "", "phone": "07700900123", "postcode": "S10 2TN",
                                        "max_travel_km": "10", "when": ["1999-01-01:morning"]})
    page = _text(response)
    assert response.status_code == 200
    assert 'id="id_name_error"' in page and 'id="when-error"' in page and 'id="id_consent_sms_error"' in page
    assert "Choose among the days and times shown." in page and 'href="#id_when"' in page


@pytest.mark.parametrize("method, path", [("post", "/"), ("post", "/find/"), ("put", "/s/1/"),
                                          ("get", "/b/not-a-real-token-at-all/decline/")])
def test_wrong_methods_are_refused_not_crashed(client, area, method, path):
    assert getattr(client, method)(path).status_code in (404, 405)
