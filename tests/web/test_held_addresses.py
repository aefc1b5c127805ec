"""Front rooms held back past the meter (volunteers.disclosure): the coordinators' alert list with "let through",
the host's "address held back" on the roster with "let them see the address", and the room page's count."""

from datetime import timedelta

import pytest
from django.test import Client

from dispatch.models import CoordinatorAction
from notify.sms.models import SmsMessage
from tests.factories import UserFactory
from tests.sms.factories import booking_make, slot_make
from volunteers.disclosure import front_room_disclose
from volunteers.models import FrontRoomHold

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(settings, locmem_sms):
    """A proven, confirmed booking whose phone has no allowance left: its address is held back."""
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    booking = booking_make(slot=slot_make())
    assert front_room_disclose(booking=booking, path="page.manage").held
    return booking


def _staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return client


def test_coordinators_see_the_phone_masked_and_reading_the_list_is_audited(held):
    client = _staff_client()
    page = client.get("/coordinate/held-addresses/")
    assert page.status_code == 200
    html = page.content.decode()
    assert held.volunteer.phone not in html and held.volunteer.phone[-3:] in html
    assert held.slot.session.meeting_point.name.replace("'", "&#x27;") in html
    assert CoordinatorAction.objects.filter(kind="personal_data", params__where="coordinator held addresses").exists()


def test_a_coordinator_lets_the_phone_through(held):
    client = _staff_client()
    hold = FrontRoomHold.objects.get(volunteer=held.volunteer)
    answer = client.post(f"/coordinate/held-addresses/{hold.pk}/release/")
    assert answer.status_code == 302
    assert front_room_disclose(booking=held, path="page.manage").shown
    assert "No addresses held back" in client.get("/coordinate/held-addresses/").content.decode()
    [text] = SmsMessage.objects.filter(booking=held, kind="address_released").values_list("body", flat=True)
    assert "27 Psalter Lane" in text and "Aisha" in text
    client.post(f"/coordinate/held-addresses/{hold.pk}/release/")  # again: nothing more is sent
    assert SmsMessage.objects.filter(booking=held, kind="address_released").count() == 1
    page = Client().get(f"/b/{held.manage_token}", HTTP_USER_AGENT="Mozilla/5.0 Safari/604.1")
    assert "27 Psalter Lane" in page.content.decode()


def test_volunteers_and_hosts_cannot_reach_the_coordinators_list(held):
    assert Client().get("/coordinate/held-addresses/").status_code in (302, 403)
    host = Client()
    host.force_login(held.slot.session.meeting_point.host)
    assert host.get("/coordinate/held-addresses/").status_code in (302, 403)
    hold = FrontRoomHold.objects.get(volunteer=held.volunteer)
    assert host.post(f"/coordinate/held-addresses/{hold.pk}/release/").status_code in (302, 403)
    assert not front_room_disclose(booking=held, path="page.manage").shown


def test_the_host_sees_the_held_booking_and_lets_it_through(held):
    session = held.slot.session
    host = Client()
    host.force_login(session.meeting_point.host)
    roster = host.get(f"/host/sessions/{session.pk}/").content.decode()
    assert "address held back" in roster and "Let them see the address" in roster
    answer = host.post(f"/host/sessions/{session.pk}/bookings/{held.pk}/address/")
    assert answer.status_code == 302
    assert front_room_disclose(booking=held, path="page.manage").shown
    assert "address held back" not in host.get(f"/host/sessions/{session.pk}/").content.decode()


def test_another_host_cannot_let_a_phone_see_someone_elses_room(held):
    other_slot = slot_make(starts_in=timedelta(days=5))
    other = Client()
    other.force_login(other_slot.session.meeting_point.host)
    answer = other.post(f"/host/sessions/{other_slot.session.pk}/bookings/{held.pk}/address/")
    assert answer.status_code == 404
    assert not front_room_disclose(booking=held, path="page.manage").shown


def test_the_room_page_counts_the_phones_shown_the_address(settings, locmem_sms):
    booking = booking_make(slot=slot_make())  # its confirmation text showed the room to one phone
    booking_make(slot=booking.slot)
    point = booking.slot.session.meeting_point
    host = Client()
    host.force_login(point.host)
    page = host.get(f"/host/rooms/{point.pk}/edit/").content.decode()
    assert "2 phones have been shown this address." in page


def test_the_coordinators_list_costs_the_same_queries_for_one_hold_or_many(settings, locmem_sms):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    client = _staff_client()

    def hold_one():
        booking = booking_make(slot=slot_make())
        assert front_room_disclose(booking=booking, path="page.manage").held

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/coordinate/held-addresses/").status_code == 200
        return len(captured)

    hold_one()
    one = queries()
    for _ in range(3):
        hold_one()
    assert queries() == one
