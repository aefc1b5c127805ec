"""Issue 25's pages through Django's test client: a host's repeats form a series and an edit can go to the later
ones; a volunteer confirms, or takes an offered place, with the button behind the texted link."""

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from sessions.models import CanvassSession
from tests.factories import MeetingPointFactory, SlotFactory, UserFactory
from tests.web.test_booking_states import _booking, area  # noqa: F401 - the fixture
from tests.web.test_hosts import _edit_data
from volunteers.models import Booking

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("promotion_offers")]


@pytest.fixture
def host_client():
    host = UserFactory(username="aisha", first_name="Aisha")
    client = Client()
    client.force_login(host)
    client.host = host
    return client


@pytest.fixture
def future_slot(host_client):
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    return SlotFactory(session__meeting_point=MeetingPointFactory(host=host_client.host),
                       session__title="Saturday on the doors", session__starts_at=start, capacity=3)


def test_repeating_weekly_on_the_page_links_the_copies_in_one_series(host_client, future_slot):
    first = timezone.localtime(future_slot.starts_at).date()
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/",
                                {"weekly_until": (first + timedelta(days=14)).isoformat()})
    assert response.status_code == 302
    series = CanvassSession.objects.get(pk=future_slot.session_id).series
    assert series is not None and CanvassSession.objects.filter(series=series).count() == 3
    again = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/",
                             {"date_1": (first + timedelta(days=7)).isoformat()})
    assert again.status_code == 200 and "This session already happens on that day" in html.unescape(again.content.decode())
    assert CanvassSession.objects.count() == 3


def test_the_edit_page_offers_this_or_later_ones_and_carries_details_to_later_ones(host_client, future_slot):
    first = timezone.localtime(future_slot.starts_at).date()
    host_client.post(f"/host/sessions/{future_slot.session_id}/copy/",
                     {"weekly_until": (first + timedelta(days=14)).isoformat()})
    second, third = CanvassSession.objects.exclude(pk=future_slot.session_id).order_by("starts_at")
    page = html.unescape(host_client.get(f"/host/sessions/{second.pk}/edit/").content.decode())
    assert "This and later ones" in page and "Give places nobody confirmed to the waitlist" in page
    data = _edit_data(second)
    data.update({"title": "New route", "apply_to": "later", "confirm_required": "on"})
    assert host_client.post(f"/host/sessions/{second.pk}/edit/", data).status_code == 302
    sessions = {s.pk: s for s in CanvassSession.objects.all()}
    assert sessions[second.pk].title == sessions[third.pk].title == "New route"
    assert sessions[third.pk].confirm_required and not sessions[future_slot.session_id].confirm_required
    assert sessions[future_slot.session_id].title == "Saturday on the doors"


def test_a_volunteer_takes_an_offered_place_with_the_button(client, area):  # noqa: F811
    booking = _booking(area.slot, offer_expires_at=timezone.now() + timedelta(minutes=40))
    area.slot.confirmed_count = 1
    area.slot.save(update_fields=["confirmed_count"])
    page = html.unescape(client.get(f"/b/{booking.manage_token}").content.decode())
    assert "Take the place" in page and "Psalter" not in page and area.session.meeting_point.address not in page
    response = client.post(f"/b/{booking.manage_token}/confirm/", follow=True)
    page = html.unescape(response.content.decode())
    assert "It's yours" in page and area.session.meeting_point.address.split("\n")[0] in page
    booking.refresh_from_db()
    assert booking.offer_expires_at is None and booking.attendance_confirmed_at is not None


def test_a_volunteer_confirms_by_the_link_and_the_page_says_so(client, area):  # noqa: F811
    start = timezone.now() + timedelta(hours=20)
    session = area.session
    session.confirm_required = True
    session.save(update_fields=["confirm_required"])
    slot = SlotFactory(session=session, starts_at=start, ends_at=start + timedelta(hours=1), capacity=2)
    booking = _booking(slot)
    page = html.unescape(client.get(f"/b/{booking.manage_token}").content.decode())
    assert "Please confirm you're still coming by" in page and "I'm coming" in page
    page = html.unescape(client.post(f"/b/{booking.manage_token}/confirm/", follow=True).content.decode())
    assert "you're confirmed" in page and "I'm coming" not in page
    assert Booking.objects.get(pk=booking.pk).attendance_confirmed_at is not None


def test_an_unknown_link_is_a_404_and_a_get_does_nothing(client, area):  # noqa: F811
    assert client.post("/b/not-a-real-token-at-all/confirm/").status_code == 404
    booking = _booking(area.slot, offer_expires_at=timezone.now() + timedelta(minutes=40))
    assert client.get(f"/b/{booking.manage_token}/confirm/").status_code == 405
    assert Booking.objects.get(pk=booking.pk).offer_expires_at is not None


def test_a_place_released_unconfirmed_says_so_on_my_bookings_and_its_page(client, area):  # noqa: F811
    from tests.web.test_manage_one_read import _remember
    from volunteers.confirmations import booking_release_unconfirmed

    start = timezone.now() + timedelta(hours=20)
    session = area.session
    session.confirm_required = True
    session.save(update_fields=["confirm_required"])
    slot = SlotFactory(session=session, starts_at=start, ends_at=start + timedelta(hours=1), capacity=2)
    booking = _booking(slot)
    deadline = start - timedelta(hours=1)  # past CONFIRM_DEADLINE_HOURS before the start
    assert booking_release_unconfirmed(booking_id=booking.pk, now=deadline)
    _remember(client, booking.volunteer_id)
    listed = html.unescape(client.get("/my/").content.decode())
    assert "Released (not confirmed in time)" in listed and "Cancelled" not in listed
    page = html.unescape(client.get(f"/b/{booking.manage_token}").content.decode())
    assert "Released (not confirmed in time)" in page and "Book again" in page
    client.cookies.clear()
    client.cookies["django_language"] = "cy"
    _remember(client, booking.volunteer_id)
    listed = html.unescape(client.get("/my/", HTTP_ACCEPT_LANGUAGE="cy").content.decode())
    assert "Wedi'i ryddhau (heb ei gadarnhau mewn pryd)" in listed
