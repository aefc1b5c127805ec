"""The safety checks' fast paths (BENCHMARKS.md, "Safety checks: the cost to a booking and a proof"): each one
skips work only where that work could not change the outcome, and still finds what it must."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions.models import Slot
from tests.embedded import embedded_run
from tests.factories import SlotFactory, book, booking_ask, next_mobile, texted_code
from volunteers import identity
from volunteers.models import Booking, FrontRoomDisclosure
from volunteers.selectors import booking_clash
from volunteers.services import booking_cancel, booking_proven_place

pytestmark = pytest.mark.django_db

PHONE = "+447400555777"


def _slot_from(slot, minutes_later: int, *, minutes: int | None = None, capacity: int = 3) -> Slot:
    starts = slot.starts_at + timedelta(minutes=minutes_later)
    length = minutes if minutes is not None else int((slot.ends_at - slot.starts_at).total_seconds() // 60)
    return SlotFactory(session=slot.session, starts_at=starts, ends_at=starts + timedelta(minutes=length),
                       capacity=capacity)


def _ask(slot, phone=None, name="Ann Volunteer"):
    return booking_ask(slot_id=slot.pk, name=name, phone=phone or next_mobile(),
                       postcode=slot.session.meeting_point.postcode)


def _full_of_proven(slot) -> Slot:
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    book(slot, proven=True)
    slot.refresh_from_db()
    return slot


# --- The clash check, on every proof --------------------------------------------------------------------------


def test_the_clash_is_the_phones_first_other_proven_place_at_that_time_read_in_one_statement(slot):
    mine = book(slot, PHONE, proven=True)
    later = book(_slot_from(slot, 90), PHONE, proven=True)
    sooner = book(_slot_from(slot, 30), PHONE, proven=True)
    mine = Booking.objects.select_related("slot").get(pk=mine.pk)
    with CaptureQueriesContext(connection) as captured:
        clash = booking_clash(booking=mine)
        title = clash.slot.session.title  # read with it
    assert len(captured) == 1
    assert clash.pk == sooner.pk and clash.pk != later.pk and title == slot.session.title
    assert booking_clash(booking=Booking.objects.select_related("slot").get(pk=sooner.pk)).pk == mine.pk


def test_a_touching_unproven_cancelled_or_other_phones_place_is_no_clash(slot):
    mine = book(slot, PHONE, proven=True)
    length = int((slot.ends_at - slot.starts_at).total_seconds() // 60)
    book(_slot_from(slot, length), PHONE, proven=True)  # starts as mine ends
    book(_slot_from(slot, -length), PHONE, proven=True)  # ends as mine starts
    _ask(_slot_from(slot, 10), PHONE)  # unproven: perhaps a stranger's decoy
    booking_cancel(manage_token=book(_slot_from(slot, 20), PHONE, proven=True).manage_token)
    book(_slot_from(slot, 30), proven=True)  # somebody else
    assert booking_clash(booking=Booking.objects.select_related("slot").get(pk=mine.pk)) is None


def test_an_unproven_or_waiting_booking_asks_nothing_about_clashes(slot):
    held = _ask(slot, PHONE).booking
    with CaptureQueriesContext(connection) as captured:
        assert booking_clash(booking=held) is None
    assert len(captured) == 0


# --- A proven booking that waits ------------------------------------------------------------------------------


def test_a_proven_waiter_behind_proven_places_costs_one_unlocked_read_and_changes_nothing(slot):
    full = _full_of_proven(slot)
    waiter = _ask(full).booking
    assert waiter.status == "waitlisted"
    with transaction.atomic():
        Booking.objects.filter(pk=waiter.pk).update(proven_at=timezone.now())  # as the proof does, first
        with CaptureQueriesContext(connection) as captured:
            assert booking_proven_place(booking_id=waiter.pk) is False
    assert len(captured) == 1 and "FOR UPDATE" not in captured[0]["sql"]
    assert Booking.objects.get(pk=waiter.pk).status == "waitlisted"
    assert Slot.objects.get(pk=full.pk).confirmed_count == 1


def test_a_proven_waiter_still_takes_a_place_whose_hold_lapsed(slot):
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    squatter = _ask(slot).booking
    asked = _ask(slot)
    assert asked.booking.status == "waitlisted"
    Booking.objects.filter(pk=squatter.pk).update(held_until=timezone.now() - timedelta(minutes=1))
    proven = identity.challenge_verify(challenge_token=asked.token, code=texted_code(asked.token),
                                       client_ip="198.51.100.9")
    assert proven.status == "confirmed"
    assert Booking.objects.get(pk=squatter.pk).status == "cancelled"  # released, not just sent back to wait
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 1


def test_a_proven_waiter_still_takes_a_place_held_unproven(slot):
    Slot.objects.filter(pk=slot.pk).update(capacity=2)
    book(slot, proven=True)
    squatter = _ask(slot).booking
    asked = _ask(slot)
    proven = identity.challenge_verify(challenge_token=asked.token, code=texted_code(asked.token),
                                       client_ip="198.51.100.9")
    assert (proven.status, Booking.objects.get(pk=squatter.pk).status) == ("confirmed", "waitlisted")


# --- A request to a full slot ---------------------------------------------------------------------------------


def test_a_request_to_a_full_slot_writes_the_typed_first_name_with_its_waitlist_place(slot):
    full = _full_of_proven(slot)
    with CaptureQueriesContext(connection) as captured:
        held = _ask(full, PHONE, name="Mallory Typed").booking
    assert Booking.objects.get(pk=held.pk).said_name == "Mallory"
    assert not [q for q in captured if q["sql"].startswith('UPDATE "volunteers_booking"')]
    booking_cancel(manage_token=held.manage_token)
    again = _ask(full, PHONE, name="Mo Again").booking  # the cancelled row is reused: its name is the new one
    assert again.pk == held.pk and Booking.objects.get(pk=held.pk).said_name == "Mo"


# --- The proof's showing of the front room --------------------------------------------------------------------


def test_the_proof_meters_its_front_room_in_its_own_transaction(api, slot):
    asked = _ask(slot)
    proven = identity.challenge_verify(challenge_token=asked.token, code=texted_code(asked.token),
                                       client_ip="198.51.100.9")
    shown = FrontRoomDisclosure.objects.get(volunteer_id=proven.volunteer_id)
    assert shown.meeting_point_id == slot.session.meeting_point_id and shown.first_path == "proof"
    answer = api.get(f"/api/bookings/{proven.manage_token}/").json()
    assert answer["address"] == slot.session.meeting_point.address
    assert FrontRoomDisclosure.objects.filter(volunteer_id=proven.volunteer_id).count() == 1


def test_a_proof_past_the_meter_shows_the_district_only(api, slot, settings):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    asked = _ask(slot)
    answer = api.post(f"/api/challenges/{asked.token}/verify/", {"code": texted_code(asked.token)},
                      format="json").json()
    assert answer["status"] == "confirmed" and answer["address"] is None and answer["address_held"] is True
    assert not FrontRoomDisclosure.objects.exists()


# --- The same on the embedded default (SQLite) ----------------------------------------------------------------

SQLITE_SCRIPT = r"""
import json
import re
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import SlotFactory
from volunteers.models import Booking

assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
base = Slot.objects.filter(starts_at__gt=timezone.now(), session__requires_approval=False).order_by("starts_at")[0]
hours = timedelta(hours=2)
def slot_at(start, capacity=5):
    return SlotFactory(session=base.session, starts_at=start, ends_at=start + hours, capacity=capacity)
mine = slot_at(base.starts_at + timedelta(days=30))
overlapping = slot_at(mine.starts_at - timedelta(hours=1))
touching = slot_at(mine.ends_at)  # starts as mine ends
client = Client()
def ask(slot, phone):
    challenge = client.post(f"/api/slots/{slot.id}/bookings/", {"name": "Sam Lite", "phone": phone,
                            "postcode": slot.session.meeting_point.postcode, "consent_sms": True},
                            content_type="application/json").json()["challenge"]
    return challenge
def prove(challenge):
    body = SmsMessage.objects.filter(challenge__token=challenge).values_list("body", flat=True).first()
    answer = client.post(f"/api/challenges/{challenge}/verify/", {"code": re.search(r"code (\d{6})", body).group(1)},
                         content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()
answers = [prove(ask(slot, "07400 555564")) for slot in (mine, touching, overlapping)]
clashes = [client.get(f"/api/bookings/{a['manage_token']}/").json()["clash"] for a in answers]
full = slot_at(base.starts_at + timedelta(days=31), capacity=1)
prove(ask(full, "07400 555565"))
waiter = prove(ask(full, "07400 555566"))
squatted = slot_at(base.starts_at + timedelta(days=32), capacity=1)
squatter = ask(squatted, "07400 555567")
late = ask(squatted, "07400 555568")
Booking.objects.filter(challenges__token=squatter).update(held_until=timezone.now() - timedelta(minutes=1))
second_waiter = prove(ask(full, "07400 555569"))
held = slot_at(base.starts_at + timedelta(days=33), capacity=1)
holder = ask(held, "07400 555570")
taker = prove(ask(held, "07400 555571"))
# The hosts told of each booking by email: the statement written out against the ORM's query it replaced.
from django.contrib.auth import get_user_model
from django.db.models import Q
from notify.email.services.outbox import _hosts_told_each
from tests.factories import HostEmailPreferenceFactory, HostStandingFactory
users = get_user_model().objects.all()
for i, user in enumerate(users):
    if i % 3 == 0:
        HostEmailPreferenceFactory(host=user, notify=["each", "digest"][i % 2])
    if i % 4 != 3:
        HostStandingFactory(host=user, email_verified=user.email.upper())
orm = {pk for pk, email, proven in users.filter(is_active=True).exclude(email="").filter(
    Q(email_preference__isnull=True) | Q(email_preference__notify="each")).values_list(
    "pk", "email", "host_standing__email_verified") if proven and proven.lower() == email.lower()}
print("RESULT " + json.dumps({
    "positions": [waiter["waitlist_position"], second_waiter["waitlist_position"]],
    "taker": taker["status"], "holder": Booking.objects.get(challenges__token=holder).status,
    "hosts": [sorted(_hosts_told_each([u.pk for u in users])), sorted(orm)],
    "clashes": [c["manage_token"] if c else None for c in clashes],
    "tokens": [a["manage_token"] for a in answers],
    "waiter": waiter["status"],
    "late": prove(late)["status"],
    "squatter": Booking.objects.get(challenges__token=squatter).status,
}))
"""


@pytest.mark.server  # a child process
def test_the_fast_paths_keep_their_answers_on_the_embedded_sqlite_defaults(tmp_path):
    result = embedded_run(SQLITE_SCRIPT, tmp_path)
    mine, touching, overlapping = result["tokens"]
    assert result["clashes"] == [overlapping, None, mine]
    assert (result["waiter"], result["late"], result["squatter"]) == ("waitlisted", "confirmed", "cancelled")
    assert result["positions"] == [1, 2]
    assert (result["taker"], result["holder"]) == ("confirmed", "waitlisted")
    told, orm = result["hosts"]
    assert told == orm and told  # some hosts are told, and the same ones as the ORM's query found
