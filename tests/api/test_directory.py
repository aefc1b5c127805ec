"""No reverse phone directory: a booking request with somebody else's number shows its session's host only what
that request typed (a first name, marked unproven), never what is stored about the number nor where its owner is
booked; a known number and a new one are answered alike, in the same statements."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notify.sms.models import SmsMessage
from notify.webhooks.payloads import payload_build
from tests.api.conftest import booking_body
from tests.factories import MeetingPointFactory, SlotFactory, UserFactory, book, next_mobile, texted_code
from volunteers import identity
from volunteers.links import manage_url
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db

STRANGER = "+447400555321"


@pytest.fixture
def stranger_elsewhere(seat, postcode):
    """A volunteer who booked (and proved) a place on another host's session, with their name and email."""
    room = MeetingPointFactory(host=UserFactory(username="otherhost"), seat=seat, postcode=postcode.postcode)
    slot = SlotFactory(session__meeting_point=room, session__title="Victoria's street party", capacity=5)
    return book(slot, STRANGER, name="Victoria Stored-Name", email="victoria@example.org", proven=True)


def _ask(api, slot, phone=STRANGER, name="Mallory Typed"):
    response = api.post(f"/api/slots/{slot.id}/bookings/", booking_body(phone=phone, name=name), format="json")
    assert response.status_code == 202, response.content
    return response


def _roster_rows(host_api, slot) -> list[dict]:
    return host_api.get(f"/api/sessions/{slot.session_id}/bookings/").json()["results"]


def _csv_rows(host_api, slot) -> list[dict]:
    response = host_api.get(f"/api/sessions/{slot.session_id}/bookings/?format=csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_host_sees_only_the_typed_first_name_of_a_known_phone_it_has_not_proven(
        api, host_api, client, host, slot, stranger_elsewhere):
    _ask(api, slot)
    [row] = _roster_rows(host_api, slot)
    assert row["volunteer"] == {"name": "Mallory", "phone": "", "email": ""} and row["proven"] is False
    [line] = _csv_rows(host_api, slot)
    assert (line["name"], line["phone"], line["email"], line["proven"]) == ("Mallory", "", "", "no")
    client.force_login(host)
    page = client.get(f"/host/sessions/{slot.session_id}/").content.decode()
    assert "Mallory" in page and "unproven" in page
    for stored in ("Victoria", "victoria@example.org", "7400555321", "Typed"):
        assert stored not in page
    body = host_api.get(f"/api/sessions/{slot.session_id}/bookings/").json()
    assert body["places"] == {"proven": 0, "unproven": 1}
    # Proven (here by the phone's holder pressing "this is my phone"): the stored details apply, as they always did.
    held = Booking.objects.get(slot=slot)
    identity.booking_prove_by_link(manage_token=held.manage_token)
    [row] = _roster_rows(host_api, slot)
    assert row["volunteer"] == {"name": "Victoria Stored-Name", "phone": STRANGER, "email": "victoria@example.org"}
    assert host_api.get(f"/api/sessions/{slot.session_id}/bookings/").json()["places"] == {"proven": 1,
                                                                                         "unproven": 0}


def test_a_request_at_the_time_of_the_phones_real_booking_looks_like_any_other(api, host_api, slot,
                                                                              stranger_elsewhere):
    other = stranger_elsewhere.slot
    clashing = SlotFactory(session=slot.session, starts_at=other.starts_at, ends_at=other.ends_at, capacity=3)
    free = SlotFactory(session=slot.session, starts_at=other.ends_at + timedelta(hours=3),
                       ends_at=other.ends_at + timedelta(hours=5), capacity=3)
    answers = [_ask(api, s) for s in (clashing, free)]
    assert [set(a.json()) for a in answers] == [{"challenge", "phone", "expires_at"}] * 2
    assert answers[0].json()["phone"] == answers[1].json()["phone"]
    rows = {r["slot"]["id"]: (r["status"], r["proven"], r["volunteer"]) for r in _roster_rows(host_api, slot)}
    unproven = ("confirmed", False, {"name": "Mallory", "phone": "", "email": ""})
    assert rows == {clashing.pk: unproven, free.pk: unproven}
    texts = [SmsMessage.objects.get(challenge__token=a.json()["challenge"]).body for a in answers]
    for text, held in zip(texts, (clashing, free), strict=True):
        assert "You're booked for" in text and "already" not in text
        assert manage_url(Booking.objects.get(slot=held).manage_token) in text
        assert "Victoria" not in text and stranger_elsewhere.manage_token not in text
    # The clash is for the prover to settle, once proven.
    proven = api.post(f"/api/challenges/{answers[0].json()['challenge']}/verify/",
                      {"code": texted_code(answers[0].json()["challenge"])}, format="json").json()
    assert proven["clash"]["manage_token"] == stranger_elsewhere.manage_token


def test_the_owners_own_request_is_not_blocked_by_a_strangers_hold_on_their_number(api, slot, seat, postcode):
    decoy = _ask(api, slot)  # a stranger holds slot with the owner's number, unproven
    room = MeetingPointFactory(host=UserFactory(username="realhost"), seat=seat, postcode=postcode.postcode)
    wanted = SlotFactory(session__meeting_point=room, starts_at=slot.starts_at, ends_at=slot.ends_at, capacity=3)
    mine = _ask(api, wanted, name="Olive Owner")
    text = SmsMessage.objects.get(challenge__token=mine.json()["challenge"]).body
    held = Booking.objects.get(slot=wanted)
    assert manage_url(held.manage_token) in text
    assert manage_url(Booking.objects.get(slot=slot).manage_token) not in text
    proven = api.post(f"/api/challenges/{mine.json()['challenge']}/verify/",
                      {"code": texted_code(mine.json()["challenge"])}, format="json").json()
    assert proven["status"] == "confirmed" and proven["proven"] is True and proven["clash"] is None
    assert decoy.status_code == 202


def _queries(slot, phone: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        identity.booking_request(slot_id=slot.id, name="Mallory", phone=phone, postcode="S10 1AA",
                                 consent_sms=True, client_ip="203.0.113.9")
    return [query["sql"].split()[0] for query in captured.captured_queries]


@pytest.mark.parametrize("full", [False, True], ids=["room", "full"])
def test_a_known_phone_costs_the_same_statements_as_a_new_one(meeting_point, stranger_elsewhere, full):
    other = stranger_elsewhere.slot
    capacity = 0 if full else 3  # full: the general path, which waitlists

    def a_slot():
        slot = SlotFactory(session__meeting_point=meeting_point, starts_at=other.starts_at, ends_at=other.ends_at,
                           capacity=max(capacity, 1))
        if full:
            book(slot, next_mobile())
        return slot

    new = _queries(a_slot(), next_mobile())
    known = _queries(a_slot(), STRANGER)  # a known phone, booked elsewhere at that very time
    assert known == new
    assert Booking.objects.filter(volunteer=stranger_elsewhere.volunteer).count() == 2


def test_a_webhook_of_an_unproven_booking_carries_nobody(api, slot, stranger_elsewhere):
    _ask(api, slot)
    held = Booking.objects.get(slot=slot)
    event = BookingEvent.objects.get(booking=held, kind=BookingEvent.Kind.CONFIRMED)
    person = payload_build(event)["data"]["person"]
    assert person == {"identifiers": []}
    identity.booking_prove_by_link(manage_token=held.manage_token)
    event.booking.refresh_from_db()
    person = payload_build(event)["data"]["person"]
    assert person["given_name"] == "Victoria" and person["phone_numbers"][0]["number"] == STRANGER


def test_erasure_forgets_the_typed_first_name_too(api, slot, stranger_elsewhere):
    from volunteers.privacy import volunteer_personal_data_erase

    _ask(api, slot)
    volunteer_personal_data_erase(volunteer_id=stranger_elsewhere.volunteer_id)
    assert set(Booking.objects.filter(volunteer_id=stranger_elsewhere.volunteer_id)
               .values_list("said_name", flat=True)) == {""}


def test_the_prover_is_told_of_the_clash_on_their_page_and_may_cancel_either(api, client, slot, stranger_elsewhere):
    other = stranger_elsewhere.slot
    clashing = SlotFactory(session=slot.session, starts_at=other.starts_at, ends_at=other.ends_at, capacity=3)
    _ask(api, clashing)
    held = Booking.objects.get(slot=clashing)
    before = client.get(f"/b/{held.manage_token}").content.decode()
    assert "Is this your phone?" in before  # the page, unproven: nothing of the clash before the proof
    assert "already booked then" not in before and "Victoria" not in before
    client.post(f"/b/{held.manage_token}/prove/")
    page = client.get(f"/b/{held.manage_token}").content.decode()
    assert "already booked then" in page and "Victoria&#x27;s street party" in page
    assert f"/b/{held.manage_token}/cancel/" in page and f"/b/{stranger_elsewhere.manage_token}/cancel/" in page


def test_my_sessions_counts_proven_places_and_unproven_holds_apart(api, client, host, slot):
    book(slot, next_mobile(), proven=True)
    _ask(api, slot)
    client.force_login(host)
    home = client.get("/host/").content.decode()
    assert "<dt>Booked</dt><dd>1</dd>" in home and "<dt>Pending</dt><dd>1</dd>" in home
    detail = client.get(f"/host/sessions/{slot.session_id}/").content.decode()
    assert "1 place taken by a proven phone" in detail and "1 held, phone not proven yet" in detail
