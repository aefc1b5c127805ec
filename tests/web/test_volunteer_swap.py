"""'Choose another slot' on the volunteer's private page, through the test client (no script involved)."""

from datetime import timedelta

import pytest

from sessions.models import Slot
from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
from tests.factories import book as book_slot
from volunteers.models import Booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def slots(db):
    seat = SeatFactory(name="Sheffield, Hallam")
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    first = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, postcode="S10 1AA"),
                        session__title="Saturday doors", capacity=2)
    second = SlotFactory(session=first.session, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=2),
                         capacity=1)
    return first, second


def test_the_manage_page_offers_another_slot_in_one_step(client, slots):
    old = book_slot(slots[0], "07400 500001", proven=True)
    html = client.get(f"/b/{old.manage_token}").content.decode()
    assert f'href="/b/{old.manage_token}/move/"' in html and "Choose another slot" in html


def test_the_move_page_lists_the_other_slots_and_moves_without_script(client, slots):
    first, second = slots
    old = book_slot(first, "07400 500001", proven=True)
    page = client.get(f"/b/{old.manage_token}/move/").content.decode()
    assert f'value="{second.pk}"' in page and f'value="{first.pk}"' not in page and "1 place left" in page
    assert "csrfmiddlewaretoken" in page
    response = client.post(f"/b/{old.manage_token}/move/", {"slot": second.pk})
    new = Booking.objects.get(volunteer=old.volunteer, slot=second)
    assert response.status_code == 302 and response["Location"] == f"/b/{new.manage_token}"
    assert new.status == Booking.Status.CONFIRMED
    assert "this is your new place" in client.get(response["Location"]).content.decode()
    old_page = client.get(f"/b/{old.manage_token}").content.decode()
    assert "You moved to another slot" in old_page and f'href="/b/{new.manage_token}"' in old_page
    assert [s.confirmed_count for s in Slot.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")] == [0, 1]


def test_a_full_slot_is_said_next_to_the_choice_and_nothing_changes_until_the_waitlist_is_ticked(client, slots):
    first, second = slots
    old = book_slot(first, "07400 500001", proven=True)
    book_slot(second, "07400 500002", proven=True)
    refused = client.post(f"/b/{old.manage_token}/move/", {"slot": second.pk})
    html = refused.content.decode()
    assert refused.status_code == 200 and "just filled up" in html and 'role="alert"' in html
    assert f'value="{second.pk}" id="slot-{second.pk}" checked' in html
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CONFIRMED
    ticked = client.post(f"/b/{old.manage_token}/move/", {"slot": second.pk, "waitlist": "on"})
    new = Booking.objects.get(volunteer=old.volunteer, slot=second)
    assert ticked.status_code == 302 and new.status == Booking.Status.WAITLISTED
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CANCELLED


def test_junk_and_other_slots_are_form_errors_never_a_500(client, slots):
    first, _ = slots
    old = book_slot(first, "07400 500001", proven=True)
    elsewhere = SlotFactory()  # not offered on this page (another seat, no neighbour)
    for junk in ("", "abc", "99999999999999999999999", str(first.pk), str(elsewhere.pk)):
        response = client.post(f"/b/{old.manage_token}/move/", {"slot": junk})
        assert response.status_code == 200, junk
        assert 'aria-describedby="id_slot_error"' in response.content.decode(), junk
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CONFIRMED
    assert not Booking.objects.filter(slot=elsewhere).exists()


def test_a_cancelled_booking_and_an_unknown_link_cannot_move(client, slots):
    first, second = slots
    old = book_slot(first, "07400 500001", proven=True)
    client.post(f"/b/{old.manage_token}/cancel/", {"confirm": "True"})
    assert Booking.objects.get(pk=old.pk).status == Booking.Status.CANCELLED
    response = client.post(f"/b/{old.manage_token}/move/", {"slot": second.pk})
    assert response.status_code == 302 and response["Location"] == f"/b/{old.manage_token}"
    assert not Booking.objects.filter(slot=second).exists()
    assert client.get("/b/not-a-real-link-123/move/").status_code == 404


def test_moves_are_limited_like_bookings_and_the_limit_is_a_page(client, slots, ratelimit_clock):
    first, second = slots
    Slot.objects.filter(pk=second.pk).update(capacity=5)
    token = book_slot(first, "07400 500001", proven=True).manage_token
    for target in (second, first, second):
        response = client.post(f"/b/{token}/move/", {"slot": target.pk})
        assert response.status_code == 302
        token = response["Location"].removeprefix("/b/")
    refused = client.post(f"/b/{token}/move/", {"slot": first.pk})
    assert refused.status_code == 429 and refused["Retry-After"] and b"Please wait a little" in refused.content
    assert Booking.objects.get(manage_token=token).slot_id == second.pk  # nothing changed
