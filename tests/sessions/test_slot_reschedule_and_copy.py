"""Moving a slot to new times texts its volunteers; copying a session makes a fresh one on another date."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from notify.sms.models import SmsMessage
from sessions.models import CanvassSession
from sessions.services import session_cancel, session_copy, slot_reschedule
from tests.factories import MeetingPointFactory, PostcodeFactory, SlotFactory, UserFactory
from tests.web.host_data import book
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute))


@pytest.fixture
def slot(db):
    point = MeetingPointFactory(capacity=12)
    PostcodeFactory(postcode="S10 1AA", seat=point.seat)
    day = timezone.localdate() + timedelta(days=4)
    return SlotFactory(session__meeting_point=point, session__starts_at=_local(day, 10), starts_at=_local(day, 10),
                       ends_at=_local(day, 12), capacity=3)


def _book(slot, n: int) -> Booking:
    return book(slot, name=f"Vol {n}", phone=f"07400 3000{n:02d}")


def test_moving_a_slot_texts_each_confirmed_volunteer_once_with_the_new_time(slot, django_capture_on_commit_callbacks):
    confirmed = [_book(slot, n) for n in range(3)]
    waiting = _book(slot, 9)
    gone = confirmed.pop()
    booking_cancel(manage_token=gone.manage_token)
    host = slot.session.meeting_point.host
    day = timezone.localtime(slot.starts_at).date()
    moved = slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 16, 30))
    assert timezone.localtime(moved.starts_at).hour == 14
    session = CanvassSession.objects.get(pk=slot.session_id)
    assert (timezone.localtime(session.starts_at).hour, timezone.localtime(session.ends_at).hour) == (14, 16)
    texts = SmsMessage.objects.filter(kind="slot_rescheduled")
    assert sorted(texts.values_list("booking_id", flat=True)) == sorted(b.pk for b in confirmed)
    assert all("14:00-16:30" in body for body in texts.values_list("body", flat=True))
    assert not texts.filter(booking__in=[waiting, gone]).exists()
    # The same times again: nothing changes, nobody is texted twice.
    slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 16, 30))
    assert texts.count() == 2
    assert BookingEvent.objects.filter(kind=BookingEvent.Kind.SLOT_RESCHEDULED).count() == 2


def test_only_the_host_moves_a_slot_and_only_to_a_sane_future_time(slot):
    host = slot.session.meeting_point.host
    day = timezone.localtime(slot.starts_at).date()
    with pytest.raises(PermissionDenied):
        slot_reschedule(user=UserFactory(), slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 15))
    with pytest.raises(InvalidInput) as ends_first:
        slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 13))
    assert "ends_at" in ends_first.value.fields
    with pytest.raises(InvalidInput) as past:
        yesterday = timezone.localdate() - timedelta(days=1)
        slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(yesterday, 14), ends_at=_local(yesterday, 15))
    assert "starts_at" in past.value.fields
    with pytest.raises(NotFound):
        slot_reschedule(user=host, slot_id=10**9, starts_at=_local(day, 14), ends_at=_local(day, 15))
    session_cancel(user=host, session_id=slot.session_id)
    with pytest.raises(InvalidState):
        slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 15))


def test_a_started_slot_keeps_its_times(slot):
    host = slot.session.meeting_point.host
    type(slot).objects.filter(pk=slot.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    day = timezone.localdate() + timedelta(days=1)
    with pytest.raises(InvalidState):
        slot_reschedule(user=host, slot_id=slot.pk, starts_at=_local(day, 14), ends_at=_local(day, 15))


def test_copy_keeps_the_room_details_turf_and_local_times_without_bookings(slot):
    _book(slot, 1)
    second = SlotFactory(session=slot.session, starts_at=slot.starts_at + timedelta(days=1, hours=2),
                         ends_at=slot.ends_at + timedelta(days=1, hours=2), capacity=5, turf="Evens")
    host = slot.session.meeting_point.host
    new_date = timezone.localdate() + timedelta(days=150)  # across a clock change for most of the year
    copy = session_copy(user=host, session_id=slot.session_id, new_date=new_date)
    assert copy.pk != slot.session_id and copy.meeting_point_id == slot.session.meeting_point_id
    assert (copy.title, copy.seat_id, copy.what_to_bring) == (slot.session.title, slot.session.seat_id,
                                                               slot.session.what_to_bring)
    first, other = copy.slots.order_by("starts_at")
    assert timezone.localtime(first.starts_at).date() == new_date
    assert (timezone.localtime(first.starts_at).hour, timezone.localtime(first.ends_at).hour) == (10, 12)
    assert timezone.localtime(other.starts_at).date() == new_date + timedelta(days=1)
    assert timezone.localtime(other.starts_at).hour == timezone.localtime(second.starts_at).hour
    assert (other.capacity, other.turf) == (5, "Evens")
    assert not Booking.objects.filter(slot__session=copy).exists() and first.confirmed_count == 0


def test_copy_is_refused_to_other_hosts_and_into_the_past(slot):
    with pytest.raises(NotFound):
        session_copy(user=UserFactory(), session_id=slot.session_id, new_date=timezone.localdate() + timedelta(days=9))
    with pytest.raises(InvalidInput):
        session_copy(user=slot.session.meeting_point.host, session_id=slot.session_id,
                     new_date=timezone.localdate() - timedelta(days=1))
    assert CanvassSession.objects.count() == 1


# ---- removing a slot, copying to several dates ----

def _second(slot, capacity=2):
    return SlotFactory(session=slot.session, starts_at=slot.starts_at + timedelta(hours=3),
                       ends_at=slot.ends_at + timedelta(hours=3), capacity=capacity)


def test_a_removed_booked_slot_leaves_every_public_list_and_refuses_bookings(slot, client):
    from sessions.models import Slot
    from sessions.selectors import session_public
    from sessions.services import slot_remove

    other = _second(slot)
    booking = _book(other, 1)
    slot_remove(user=slot.session.meeting_point.host, slot_id=other.pk)
    assert slot_remove(user=slot.session.meeting_point.host, slot_id=other.pk).removed_at is not None  # again: same
    assert list(slot.session.slots.all()) == [slot] and not Slot.objects.filter(pk=other.pk).exists()
    assert [s.pk for s in session_public(session_id=slot.session_id).upcoming_slots] == [slot.pk]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.slot == Slot.all_objects.get(pk=other.pk)
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.SESSION_CANCELLED).count() == 1
    session = CanvassSession.objects.get(pk=slot.session_id)
    assert (session.starts_at, session.ends_at) == (slot.starts_at, slot.ends_at)
    page = client.get(f"/s/{slot.session_id}/").content.decode()
    assert f"{timezone.localtime(other.starts_at):%H:%M}" not in page
    with pytest.raises((NotFound, InvalidState)):
        from tests.factories import book as request_booking

        request_booking(other, "07400 300077")


def test_a_started_slot_the_last_slot_and_another_hosts_slot_are_not_removed(slot):
    from sessions.services import slot_remove

    host = slot.session.meeting_point.host
    with pytest.raises(InvalidState) as last:
        slot_remove(user=host, slot_id=slot.pk)
    assert last.value.code == "last_slot"
    other = _second(slot)
    with pytest.raises(PermissionDenied):
        slot_remove(user=UserFactory(), slot_id=other.pk)
    CanvassSession.objects.filter(pk=slot.session_id).update(starts_at=timezone.now() - timedelta(hours=1))
    type(slot).objects.filter(pk=slot.pk).update(starts_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(InvalidState) as started:
        slot_remove(user=host, slot_id=slot.pk)
    assert started.value.code == "slot_started"


def test_copies_on_several_dates_are_all_or_nothing(slot):
    from sessions.services import COPIES_MAX, session_copies_create

    host = slot.session.meeting_point.host
    day = timezone.localtime(slot.starts_at).date()
    copies = session_copies_create(user=host, session_id=slot.session_id,
                                   dates=[day + timedelta(days=7), day + timedelta(days=14), day + timedelta(days=7)])
    assert len(copies) == 2 and CanvassSession.objects.count() == 3
    with pytest.raises(InvalidInput) as past:
        session_copies_create(user=host, session_id=slot.session_id,
                              dates=[day + timedelta(days=21), timezone.localdate() - timedelta(days=2)])
    assert set(past.value.fields) == {"dates.1"} and CanvassSession.objects.count() == 3
    with pytest.raises(InvalidInput) as many:
        session_copies_create(user=host, session_id=slot.session_id,
                              dates=[day + timedelta(days=n) for n in range(1, COPIES_MAX + 2)])
    assert many.value.code == "too_many_copies" and CanvassSession.objects.count() == 3
