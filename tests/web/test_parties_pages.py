"""Parties on the volunteers' and hosts' pages, without JavaScript: the booking form's "others", the booking page's
shrink form, /my/ and the host's roster."""

import re

import pytest
from django.test import Client

from sessions.models import Slot
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking

pytestmark = pytest.mark.django_db


def _form(**extra) -> dict:
    return {"name": "Ada Lovelace", "phone": "07400 900456", "postcode": VOLUNTEER_POSTCODE, "consent_sms": "on",
            **extra}


def _book(client, area, **extra):
    return client.post(f"/s/{area.session.pk}/book/?slot={area.slot.pk}", _form(**extra))


def test_the_booking_form_asks_how_many_others_and_books_them_all(client):
    area = neighbourhood()
    page = client.get(f"/s/{area.session.pk}/book/?slot={area.slot.pk}").content.decode()
    assert "How many others are coming with you?" in page and '<select name="others"' in page
    response = _book(client, area, others="2", party_names="Bea, Cy")
    assert response.status_code == 302 and "/check/" in response["Location"]
    booking = Booking.objects.get()
    assert (booking.party_size, booking.party_names) == (3, "Bea, Cy")
    assert Slot.objects.get(pk=area.slot.pk).confirmed_count == 3


@pytest.mark.parametrize(("extra", "message"), [
    ({"others": "9"}, "Select a valid choice"),
    ({"others": "1", "party_names": "Bea, Cy"}, "Give at most 1 name"),
    ({"others": "2", "party_names": "B" * 31}, "at most 30 characters"),
])
def test_a_bad_party_is_a_message_on_the_form_and_books_nothing(client, extra, message):
    area = neighbourhood()
    response = _book(client, area, **extra)
    assert response.status_code == 200 and message in response.content.decode()
    assert Booking.objects.count() == 0


def test_the_booking_page_says_the_party_and_shrinks_it(client):
    area = neighbourhood()
    _book(client, area, others="2", party_names="Bea, Cy")
    booking = Booking.objects.get()
    page = client.get(f"/b/{booking.manage_token}").content.decode()
    assert "A place for you and 2 others" in page and "Bea, Cy" in page
    assert re.search(r'<option value="2">2</option><option value="1">1</option></select>', page)
    response = client.post(f"/b/{booking.manage_token}/party/", {"party_size": "2"}, follow=True)
    assert "Done: 1 place given back." in response.content.decode()
    booking.refresh_from_db()
    assert (booking.party_size, booking.party_names) == (2, "Bea")
    assert Slot.objects.get(pk=area.slot.pk).confirmed_count == 2
    response = client.post(f"/b/{booking.manage_token}/party/", {"party_size": "5"}, follow=True)
    assert "can only be made smaller" in response.content.decode()
    response = client.post(f"/b/{booking.manage_token}/party/", {"party_size": "junk"}, follow=True)
    assert response.status_code == 200 and "A party is 1 to 6 people" in response.content.decode()
    assert Booking.objects.get().party_size == 2


def test_a_party_shrunk_to_one_shows_no_party(client):
    area = neighbourhood()
    _book(client, area, others="1")
    booking = Booking.objects.get()
    client.post(f"/b/{booking.manage_token}/party/", {"party_size": "1"})
    page = client.get(f"/b/{booking.manage_token}").content.decode()
    assert "A place for you and" not in page and 'id="party"' not in page


def test_the_hosts_roster_page_shows_the_party_and_counts_places(client):
    area = neighbourhood()
    _book(Client(), area, others="2", party_names="Bea, Cy")
    host = Client()
    host.force_login(area.session.meeting_point.host)
    page = host.get(f"/host/sessions/{area.session.pk}/").content.decode()
    # "Ada + 2: Bea, Cy" to the eye; "+ 2 others" to a screen reader
    assert re.search(r'<span class="roster-name">Ada[^<]*</span> <span class="party">\+ 2<span class="visually-hidden"> '
                     r'others</span>: Bea, Cy</span>', page), page


def test_a_waiting_party_is_told_it_waits_together(client):
    area = neighbourhood()
    Slot.objects.filter(pk=area.slot.pk).update(confirmed_count=2)  # one place left of three
    _book(client, area, others="1")
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.WAITLISTED and booking.party_size == 2
    page = client.get(f"/b/{booking.manage_token}").content.decode()
    assert "Your party waits together: we offer you places only when all of you fit." in page
