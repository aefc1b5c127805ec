"""Metered disclosure of front rooms (volunteers.disclosure): the allowance per phone, the ledger, releases."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.threads import run_together
from volunteers.disclosure import (
    Hidden,
    front_room_disclose,
    front_room_holds_open,
    front_room_meter,
    front_room_phones_shown,
    front_room_release,
    front_room_release_for_booking,
)
from volunteers.models import FrontRoomDisclosure, FrontRoomHold

pytestmark = pytest.mark.django_db


def _rooms(n):
    return [slot_make().session.meeting_point for _ in range(n)]


def test_three_distinct_rooms_a_day_are_shown_and_the_fourth_is_held():
    volunteer = volunteer_make()
    rooms = _rooms(4)
    allowed = [front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage")
               for room in rooms]
    assert allowed == [True, True, True, False]
    assert FrontRoomDisclosure.objects.filter(volunteer=volunteer).count() == 3
    [hold] = FrontRoomHold.objects.filter(volunteer=volunteer)
    assert (hold.meeting_point_id, hold.released_at) == (rooms[3].pk, None)


def test_a_room_shown_before_is_shown_again_without_counting():
    volunteer = volunteer_make()
    rooms = _rooms(4)
    for room in rooms[:3]:
        assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage")
    for _ in range(3):  # again and again, by any path
        assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[0].pk, path="api.booking")
    assert FrontRoomDisclosure.objects.filter(volunteer=volunteer).count() == 3
    assert not front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[3].pk, path="page.manage")


def test_a_room_shown_weeks_ago_is_still_known_and_free(settings):
    volunteer = volunteer_make()
    rooms = _rooms(5)
    long_ago = timezone.now() - timedelta(days=30)
    assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[0].pk, path="ics", now=long_ago)
    for room in rooms[1:4]:
        assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage")
    assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[0].pk, path="page.manage")
    assert not front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[4].pk, path="page.manage")


def test_the_week_allows_six_rooms_across_days():
    volunteer = volunteer_make()
    rooms = _rooms(8)
    now = timezone.now()
    three_days_ago, yesterday = now - timedelta(days=3), now - timedelta(days=1, minutes=5)
    shown = [front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage",
                              now=three_days_ago) for room in rooms[:3]]
    shown += [front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage",
                               now=yesterday) for room in rooms[3:6]]
    assert shown == [True] * 6
    # Today's allowance is untouched, but the week's six are used.
    assert not front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[6].pk, path="page.manage", now=now)
    # Eight days on, the first three have left the week.
    later = three_days_ago + timedelta(days=7, minutes=1)
    assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=rooms[7].pk, path="page.manage", now=later)


def test_settings_set_the_allowance(settings):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    volunteer = volunteer_make()
    [room] = _rooms(1)
    assert not front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage")


def test_a_booking_past_the_meter_shows_the_district_and_why(settings):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    booking = booking_make(slot=slot_make())
    room = front_room_disclose(booking=booking, path="page.manage")
    assert (room.shown, room.held, room.reason, room.district) == (False, True, Hidden.AWAITING_RELEASE, "S11")
    assert room.address == room.host_first_name == room.turf == room.one_line == ""


def test_the_rules_come_before_the_meter_and_cost_no_query(django_assert_num_queries):
    booking = booking_make(slot=slot_make(), proven=False)
    with django_assert_num_queries(0):
        assert front_room_disclose(booking=booking, path="page.manage").reason == Hidden.UNPROVEN
        assert front_room_disclose(booking=booking, path="api.booking", automatic=True).reason == Hidden.AUTOMATIC


def test_a_known_room_costs_one_query_and_no_write(django_assert_num_queries):
    booking = booking_make(slot=slot_make())
    assert front_room_disclose(booking=booking, path="page.manage").shown
    with django_assert_num_queries(1):
        room = front_room_disclose(booking=booking, path="page.manage")
    assert room.shown and room.address == "27 Psalter Lane, Sheffield" and room.host_first_name == "Aisha"


def test_a_coordinator_release_lets_the_phone_through_for_that_room_only(settings):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    coordinator = UserFactory(username="coord", is_staff=True, email="", standing=False)
    first = booking_make(slot=slot_make())
    second = booking_make(slot=slot_make(starts_in=timedelta(days=4)), volunteer=first.volunteer)
    assert not front_room_disclose(booking=first, path="page.manage").shown
    assert not front_room_disclose(booking=second, path="page.manage").shown
    holds = list(front_room_holds_open())
    assert {hold.meeting_point_id for hold in holds} == {first.slot.session.meeting_point_id,
                                                         second.slot.session.meeting_point_id}
    hold = next(h for h in holds if h.meeting_point_id == first.slot.session.meeting_point_id)
    front_room_release(hold_id=hold.pk, user=coordinator)
    front_room_release(hold_id=hold.pk, user=coordinator)  # idempotent
    assert front_room_disclose(booking=first, path="page.manage").shown
    assert not front_room_disclose(booking=second, path="page.manage").shown
    assert front_room_phones_shown(meeting_point_id=first.slot.session.meeting_point_id) == 1


def test_the_host_releases_only_bookings_on_their_own_rooms(settings):
    from core.errors import NotFound

    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    booking = booking_make(slot=slot_make())
    assert not front_room_disclose(booking=booking, path="page.manage").shown
    point = booking.slot.session.meeting_point
    with pytest.raises(NotFound):
        front_room_release_for_booking(booking_id=booking.pk, user=point.host, meeting_point_ids=[point.pk + 999])
    front_room_release_for_booking(booking_id=booking.pk, user=point.host, meeting_point_ids=[point.pk])
    assert front_room_disclose(booking=booking, path="page.manage").shown


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_two_rooms_never_both_take_the_last_allowance(settings):
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 3
    for _attempt in range(5):
        volunteer = volunteer_make()
        rooms = _rooms(4)
        for room in rooms[:2]:
            assert front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="page.manage")
        results: list[bool] = []

        def ask(room, volunteer=volunteer, results=results):
            results.append(front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=room.pk, path="api.booking"))

        errors = run_together(*[lambda room=room: ask(room) for room in rooms[2:]])
        assert errors == []
        assert sorted(results) == [False, True]
        assert FrontRoomDisclosure.objects.filter(volunteer=volunteer).count() == 3


def test_the_ledger_is_exported_and_erased_with_the_volunteer():
    from volunteers.privacy import volunteer_data_export, volunteer_personal_data_erase

    booking = booking_make(slot=slot_make())
    assert front_room_disclose(booking=booking, path="page.manage").shown
    export = volunteer_data_export(volunteer=booking.volunteer)
    [row] = export["front_rooms_shown"]
    assert row["meeting_point_id"] == booking.slot.session.meeting_point_id and "first_shown_at" in row
    assert "front_rooms_held" in export
    volunteer_personal_data_erase(volunteer_id=booking.volunteer_id)
    assert not FrontRoomDisclosure.objects.filter(volunteer_id=booking.volunteer_id).exists()


def test_the_retention_purge_deletes_old_ledger_rows():
    from core.retention import retention_purge_run

    volunteer = volunteer_make()
    [old, recent] = _rooms(2)
    front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=old.pk, path="ics",
                     now=timezone.now() - timedelta(days=200))
    front_room_meter(volunteer_id=volunteer.pk, meeting_point_id=recent.pk, path="ics")
    counts = retention_purge_run(cutoff=timezone.now() - timedelta(days=90))
    assert counts["front room disclosures"] == 1
    assert list(FrontRoomDisclosure.objects.values_list("meeting_point_id", flat=True)) == [recent.pk]
