"""Feedback after a slot, self check-in with the host's code, and the host's report (volunteers.aftercare)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidInput, InvalidState, NotFound, RateLimited
from tests.aftercare.helpers import booked_slot, slot_move
from tests.factories import UserFactory
from volunteers import aftercare
from volunteers.models import Booking, BookingEvent, Feedback, SessionReport

pytestmark = pytest.mark.django_db


# ---- feedback ------------------------------------------------------------------------------------------------

def test_feedback_is_saved_once_per_booking_and_the_latest_answers_win():
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    aftercare.feedback_record(booking_id=booking.pk, went=True, rating=4, again=True, comment=" Lovely street ")
    aftercare.feedback_record(booking_id=booking.pk, went=True, rating=5, again=True, comment="Lovely street")
    feedback = Feedback.objects.get(booking=booking)
    assert (feedback.went, feedback.rating, feedback.again, feedback.comment) == (True, 5, True, "Lovely street")
    assert Feedback.objects.count() == 1


def test_saying_you_went_records_the_attendance_confirmation_once():
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    aftercare.feedback_record(booking_id=booking.pk, went=True)
    aftercare.feedback_record(booking_id=booking.pk, went=True, rating=3)
    booking.refresh_from_db()
    assert booking.attendance_confirmed_at is not None
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.ATTENDANCE_CONFIRMED).count() == 1


def test_a_rating_by_text_keeps_the_other_answers():
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    aftercare.feedback_record(booking_id=booking.pk, went=True, again=False, comment="Rain")
    aftercare.feedback_record(booking_id=booking.pk, rating=2, source=Feedback.Source.SMS, keep_others=True)
    feedback = Feedback.objects.get(booking=booking)
    assert (feedback.went, feedback.rating, feedback.again, feedback.comment) == (True, 2, False, "Rain")


@pytest.mark.parametrize(("answers", "field"), [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": True}, "rating"),
    ({"went": "maybe"}, "went"), ({"comment": "x" * 501}, "comment"),
])
def test_a_bad_answer_names_its_field_and_writes_nothing(answers, field):
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    with pytest.raises(InvalidInput) as error:
        aftercare.feedback_record(booking_id=booking.pk, **answers)
    assert field in error.value.fields
    assert not Feedback.objects.exists()


def test_no_feedback_before_the_slot_ends_or_long_after_or_for_a_cancelled_or_unproven_place(settings):
    _, (upcoming,) = booked_slot()
    with pytest.raises(InvalidState):
        aftercare.feedback_record(booking_id=upcoming.pk, rating=5)
    _, (old,) = booked_slot(ended_ago=timedelta(days=settings.FEEDBACK_DAYS, hours=1))
    with pytest.raises(InvalidState):
        aftercare.feedback_record(booking_id=old.pk, rating=5)
    _, (cancelled,) = booked_slot(ended_ago=timedelta(hours=2))
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)
    with pytest.raises(InvalidState):
        aftercare.feedback_record(booking_id=cancelled.pk, rating=5)
    _, (unproven,) = booked_slot(ended_ago=timedelta(hours=2))
    Booking.objects.filter(pk=unproven.pk).update(proven_at=None)
    with pytest.raises(InvalidState):
        aftercare.feedback_record(booking_id=unproven.pk, rating=5)
    assert not Feedback.objects.exists()


def test_the_next_sessions_nearby_leave_out_full_ones_and_those_already_booked():
    _, (booking,) = booked_slot(ended_ago=timedelta(hours=2))
    open_slot, _ = booked_slot(people=0)
    full_slot, _ = booked_slot(people=1, capacity=1)
    mine, _ = booked_slot(people=0)
    from tests.sms.factories import booking_make

    booking_make(slot=mine, volunteer=booking.volunteer)
    found = aftercare.next_slots_nearby(booking=booking)
    assert open_slot in found and full_slot not in found and mine not in found


# ---- self check-in -------------------------------------------------------------------------------------------

def _now_in(slot, minutes: int = 10):
    return slot.starts_at + timedelta(minutes=minutes)


def test_the_right_code_within_the_slot_checks_the_volunteer_in_once():
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=10))
    code = aftercare.check_in_code(slot)
    aftercare.booking_check_in(manage_token=booking.manage_token, code=code)
    aftercare.booking_check_in(manage_token=booking.manage_token, code=f" {code} ")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED
    events = BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.ATTENDED)
    assert events.count() == 1 and events.get().payload == {"self_check_in": True}


def test_a_wrong_code_is_refused_on_the_code_field():
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=10))
    wrong = f"{(int(aftercare.check_in_code(slot)) + 1) % 10000:04d}"
    with pytest.raises(InvalidInput) as error:
        aftercare.booking_check_in(manage_token=booking.manage_token, code=wrong)
    assert "code" in error.value.fields
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_code_is_for_one_slot_and_one_day():
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=10))
    other, _ = booked_slot(starts_at=timezone.now() - timedelta(minutes=10))
    assert aftercare.check_in_code(other) != aftercare.check_in_code(slot)  # (fixed by SECRET_KEY and the ids)
    today = aftercare.check_in_code(slot)
    slot_move(slot, starts_at=slot.starts_at + timedelta(days=1))
    assert aftercare.check_in_code(slot) != today  # yesterday's code (say, seen last week) opens nothing
    with pytest.raises(InvalidInput):
        aftercare.booking_check_in(manage_token=booking.manage_token, code=aftercare.check_in_code(other),
                                   now=_now_in(slot))


def test_no_check_in_on_another_day_or_outside_the_slot(settings):
    slot, (booking,) = booked_slot(starts_at=timezone.now() + timedelta(days=1))
    code = aftercare.check_in_code(slot)
    with pytest.raises(InvalidState):
        aftercare.booking_check_in(manage_token=booking.manage_token, code=code)  # tomorrow's slot, today
    early = slot.starts_at - timedelta(minutes=settings.CHECK_IN_EARLY_MINUTES + 1)
    with pytest.raises(InvalidState):
        aftercare.booking_check_in(manage_token=booking.manage_token, code=code, now=early)
    with pytest.raises(InvalidState):
        aftercare.booking_check_in(manage_token=booking.manage_token, code=code,
                                   now=slot.ends_at + timedelta(minutes=1))
    aftercare.booking_check_in(manage_token=booking.manage_token, code=code,
                               now=slot.starts_at - timedelta(minutes=settings.CHECK_IN_EARLY_MINUTES - 1))


def test_only_a_booked_proven_volunteer_can_check_in():
    slot, (cancelled, waiting, unproven) = booked_slot(people=3, starts_at=timezone.now() - timedelta(minutes=5))
    code = aftercare.check_in_code(slot)
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)
    Booking.objects.filter(pk=waiting.pk).update(status=Booking.Status.WAITLISTED)
    Booking.objects.filter(pk=unproven.pk).update(proven_at=None)
    for booking in (cancelled, waiting, unproven):
        with pytest.raises(InvalidState):
            aftercare.booking_check_in(manage_token=booking.manage_token, code=code)
    with pytest.raises(NotFound):
        aftercare.booking_check_in(manage_token="not-a-real-token-at-all", code=code)
    assert not Booking.objects.filter(status=Booking.Status.ATTENDED).exists()


def test_guessing_the_code_is_stopped_by_the_limit_even_for_the_right_code(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "check_in_booking": "5/h"}
    slot, (booking,) = booked_slot(starts_at=timezone.now() - timedelta(minutes=10))
    code = aftercare.check_in_code(slot)
    wrong = [f"{n:04d}" for n in range(10000) if f"{n:04d}" != code][:5]
    for guess in wrong:
        with pytest.raises(InvalidInput):
            aftercare.booking_check_in(manage_token=booking.manage_token, code=guess)
    with pytest.raises(RateLimited):
        aftercare.booking_check_in(manage_token=booking.manage_token, code=code)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


# ---- the host's report ---------------------------------------------------------------------------------------

def test_the_host_files_and_corrects_the_report_within_the_window(settings):
    slot, _ = booked_slot(ended_ago=timedelta(hours=1))
    session = slot.session
    host = session.meeting_point.host
    aftercare.session_report_save(session=session, user=host, doors=80, conversations=20, note="Good street")
    aftercare.session_report_save(session=session, user=host, doors=90, conversations=25, note="")
    report = SessionReport.objects.get(session=session)
    assert (report.doors, report.conversations, report.note, report.filed_by) == (90, 25, "", host)
    late = session.ends_at + timedelta(days=settings.HOST_REPORT_EDIT_DAYS, minutes=1)
    with pytest.raises(InvalidState):
        aftercare.session_report_save(session=session, user=host, doors=1, conversations=1, now=late)
    early, _ = booked_slot()
    with pytest.raises(InvalidState):
        aftercare.session_report_save(session=early.session, user=host, doors=1, conversations=1)


@pytest.mark.parametrize(("numbers", "field"), [
    ({"doors": -1, "conversations": 0}, "doors"), ({"doors": 10, "conversations": -2}, "conversations"),
    ({"doors": 100000, "conversations": 0}, "doors"), ({"doors": 5, "conversations": 6}, "conversations"),
    ({"doors": "12", "conversations": 1}, "doors"),
])
def test_bad_report_numbers_name_the_field_and_write_nothing(numbers, field):
    slot, _ = booked_slot(ended_ago=timedelta(hours=1))
    with pytest.raises(InvalidInput) as error:
        aftercare.session_report_save(session=slot.session, user=None, **numbers)
    assert field in error.value.fields
    assert not SessionReport.objects.exists()


def test_the_report_link_names_its_session_and_cannot_be_forged_or_moved():
    slot, _ = booked_slot(ended_ago=timedelta(hours=1))
    other, _ = booked_slot(ended_ago=timedelta(hours=1))
    token = aftercare.report_link_token(slot.session)
    assert aftercare.session_for_report_token(token) == slot.session
    other_token = aftercare.report_link_token(other.session)
    forged = token.split(":")[0] + ":" + other_token.split(":", 1)[1]
    for bad in (forged, token + "x", "", "abc:def", str(slot.session.pk)):
        with pytest.raises(NotFound):
            aftercare.session_for_report_token(bad)
    # The room changes hands: the old host's link no longer opens the session.
    new_host = UserFactory(username="newhost", email="", standing=False)
    type(slot.session.meeting_point).objects.filter(pk=slot.session.meeting_point_id).update(host=new_host)
    with pytest.raises(NotFound):
        aftercare.session_for_report_token(token)
