"""Parties (issue 24): a booking takes places for the booker and the others with them, all or nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Slot
from tests.api.conftest import booking_body
from tests.factories import book_via_api, booking_ask, next_mobile
from volunteers import services
from volunteers.models import Booking, BookingEvent, Volunteer
from volunteers.privacy import volunteer_personal_data_erase

pytestmark = pytest.mark.django_db


def _ask(api, slot, **body):
    return api.post(f"/api/slots/{slot.id}/bookings/", booking_body(phone=next_mobile(), **body), format="json")


def _slot(slot) -> Slot:
    return Slot.objects.get(pk=slot.pk)


def test_a_party_takes_its_places_and_its_answer_says_so(api, slot):
    booking = book_via_api(api, slot, party_size=3, party_names=["Bea", "Cy"])
    assert booking["status"] == "confirmed" and booking["party_size"] == 3
    assert booking["party_names"] == ["Bea", "Cy"]
    assert _slot(slot).confirmed_count == 3 and _slot(slot).places_left == 0


def test_party_size_defaults_to_one(api, slot):
    assert book_via_api(api, slot)["party_size"] == 1
    assert _slot(slot).confirmed_count == 1


def test_a_party_bigger_than_the_places_left_waits_together_and_takes_nothing(api, slot):
    book_via_api(api, slot, phone=next_mobile(), party_size=2)  # 1 of 3 left
    waiting = book_via_api(api, slot, phone=next_mobile(), party_size=2)
    assert waiting["status"] == "waitlisted" and waiting["waitlist_position"] == 1
    assert _slot(slot).confirmed_count == 2  # the last place is not half-taken by the party


@pytest.mark.parametrize(("body", "field"), [
    ({"party_size": 0}, "party_size"), ({"party_size": 7}, "party_size"), ({"party_size": "many"}, "party_size"),
    ({"party_size": 2, "party_names": ["Bea", "Cy"]}, "party_names"),
    ({"party_size": 3, "party_names": ["x" * 31]}, "party_names"),
    ({"party_size": 3, "party_names": "Bea"}, "party_names"),
    ({"party_size": 3, "party_names": ["Bea, Cy"]}, "party_names"),
])
def test_bad_party_input_is_a_400_naming_the_field_and_holds_nothing(api, slot, body, field):
    response = _ask(api, slot, **body)
    assert response.status_code == 400, response.content
    assert any(name.split(".")[0] == field for name in response.json()["error"]["fields"])
    assert Booking.objects.count() == 0 and _slot(slot).confirmed_count == 0


def test_party_max_is_a_setting(api, slot, settings):
    settings.PARTY_MAX = 2
    assert _ask(api, slot, party_size=3).status_code == 400
    assert _ask(api, slot, party_size=2).status_code == 202


def test_a_set_of_slots_is_refused_whole_when_one_has_no_room_for_the_party(api, slot):
    from tests.factories import SlotFactory

    later = SlotFactory(session=slot.session, capacity=1, starts_at=slot.ends_at + timedelta(hours=1),
                        ends_at=slot.ends_at + timedelta(hours=3))
    response = api.post("/api/bookings/", booking_body(phone=next_mobile(), slot_ids=[slot.id, later.id],
                                                        party_size=2), format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "slot_full"
    assert _slot(slot).confirmed_count == 0 and Booking.objects.count() == 0
    response = api.post("/api/bookings/", booking_body(phone=next_mobile(), slot_ids=[slot.id], party_size=2),
                        format="json")
    assert response.status_code == 202 and _slot(slot).confirmed_count == 2


def test_shrinking_gives_back_places_and_promotes_a_waiting_party_that_now_fits(api, slot,
                                                                                django_capture_on_commit_callbacks):
    big = book_via_api(api, slot, phone=next_mobile(), party_size=3, party_names=["Bea", "Cy"])
    waiting = book_via_api(api, slot, phone=next_mobile(), party_size=2)
    assert waiting["status"] == "waitlisted"
    with django_capture_on_commit_callbacks(execute=True):  # the event's handler promotes after commit
        response = api.post(f"/api/bookings/{big['manage_token']}/party/", {"party_size": 1}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["party_size"] == 1 and response.json()["party_names"] == []
    assert Booking.objects.get(manage_token=waiting["manage_token"]).status == Booking.Status.CONFIRMED
    assert _slot(slot).confirmed_count == 3
    event = BookingEvent.objects.get(booking__manage_token=big["manage_token"], kind=BookingEvent.Kind.PARTY_SHRUNK)
    assert event.payload["places"] == 2


def test_a_promoted_party_is_texted_its_places(api, slot, django_capture_on_commit_callbacks):
    from notify.sms.models import SmsMessage
    from notify.sms.texts import booking_text

    big = book_via_api(api, slot, phone=next_mobile(), party_size=3)
    waiting = book_via_api(api, slot, phone=next_mobile(), party_size=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(manage_token=big["manage_token"])
    booking = Booking.objects.get(manage_token=waiting["manage_token"])
    text = SmsMessage.objects.get(booking=booking, kind="booking_promoted").body
    assert "(your places for 2)" in text
    alone = book_via_api(api, slot, phone=next_mobile())
    assert "your places" not in booking_text(kind="booking_confirmed",
                                             booking=Booking.objects.get(manage_token=alone["manage_token"]))


def test_a_party_cannot_grow_and_a_repeat_changes_nothing(api, slot):
    booking = book_via_api(api, slot, party_size=2)
    url = f"/api/bookings/{booking['manage_token']}/party/"
    response = api.post(url, {"party_size": 3}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "party_cannot_grow"
    assert "party_size" in response.json()["error"]["fields"]
    assert api.post(url, {"party_size": 2}, format="json").status_code == 200
    assert api.post(url, {}, format="json").status_code == 400
    assert _slot(slot).confirmed_count == 2
    assert api.post("/api/bookings/nope/party/", {"party_size": 1}, format="json").status_code == 404


def test_a_waiting_party_is_passed_over_but_keeps_its_turn(api, slot, django_capture_on_commit_callbacks):
    first = book_via_api(api, slot, phone=next_mobile(), party_size=3)
    party = book_via_api(api, slot, phone=next_mobile(), party_size=2)
    single = book_via_api(api, slot, phone=next_mobile())
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_party_shrink(manage_token=first["manage_token"], party_size=2)  # one place freed
    assert Booking.objects.get(manage_token=single["manage_token"]).status == Booking.Status.CONFIRMED
    still = Booking.objects.get(manage_token=party["manage_token"])
    assert still.status == Booking.Status.WAITLISTED
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(manage_token=first["manage_token"])  # two freed: the party, whole
    assert Booking.objects.get(pk=still.pk).status == Booking.Status.CONFIRMED
    assert _slot(slot).confirmed_count == 3


def test_an_unproven_party_hold_that_lapses_frees_all_its_places(slot):
    asked = booking_ask(slot_id=slot.id, name="Hostile", phone=next_mobile(), postcode="S10 1AA", party_size=3)
    assert _slot(slot).confirmed_count == 3 and asked.booking.party_size == 3
    assert services.bookings_release_unproven(now=timezone.now() + timedelta(hours=2)) == 1
    assert _slot(slot).confirmed_count == 0


def test_a_proven_volunteer_takes_the_places_of_an_unproven_party_whole(api, slot):
    booking_ask(slot_id=slot.id, name="Hostile", phone=next_mobile(), postcode="S10 1AA", party_size=3)
    proven = book_via_api(api, slot, phone=next_mobile(), party_size=2)
    assert proven["status"] == "confirmed"
    held = Booking.objects.get(proven_at__isnull=True)
    assert held.status == Booking.Status.WAITLISTED and held.party_size == 3  # back to waiting, whole
    assert _slot(slot).confirmed_count == 2


def test_erasing_the_volunteer_erases_the_party_names_and_frees_the_places(api, slot):
    booking = book_via_api(api, slot, party_size=3, party_names=["Bea", "Cy"])
    volunteer = Volunteer.objects.get(bookings__manage_token=booking["manage_token"])
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    assert Booking.objects.get(pk=booking["id"]).party_names == ""
    assert _slot(slot).confirmed_count == 0


def test_the_hosts_roster_shows_the_party(api, host_api, slot):
    book_via_api(api, slot, party_size=3, party_names=["Bea", "Cy"])
    rows = host_api.get(f"/api/sessions/{slot.session_id}/bookings/").json()["results"]
    assert rows[0]["party_size"] == 3 and rows[0]["party_names"] == ["Bea", "Cy"]
    response = host_api.get(f"/api/sessions/{slot.session_id}/bookings/", HTTP_ACCEPT="text/csv")
    csv = b"".join(response.streaming_content).decode()
    assert "party_size,party_names" in csv.splitlines()[0] and ",3,\"Bea, Cy\"," in csv


@pytest.mark.django_db(transaction=True)
def test_two_parties_racing_for_the_last_places_one_gets_them_all_the_other_waits_whole():
    from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
    from tests.threads import run_together

    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat), capacity=5)
    booking_ask(slot_id=slot.id, name="First", phone=next_mobile(), postcode="S10 1AA", party_size=2)  # 3 left
    results = []

    def party(phone):
        results.append(booking_ask(slot_id=slot.id, name="Racer", phone=phone, postcode="S10 1AA", party_size=3))

    for _ in range(5):  # several rounds: each a fresh race for the same 3 places
        Booking.objects.filter(slot=slot).exclude(said_name="First").delete()
        Slot.objects.filter(pk=slot.pk).update(confirmed_count=2)
        results.clear()
        errors = run_together(*[lambda phone=phone: party(phone) for phone in (next_mobile(), next_mobile())],
                              timeout=None)
        assert errors == []
        statuses = sorted(result.booking.status for result in results)
        assert statuses == ["confirmed", "waitlisted"], statuses
        assert _slot(slot).confirmed_count == 5
        assert sorted(Booking.objects.filter(slot=slot).values_list("party_size", flat=True)) == [2, 3, 3]
