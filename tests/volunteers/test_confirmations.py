"""Confirm or release, and offers from the waitlist close to the start (volunteers.confirmations, issue 25)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidState
from notify.confirmations import unconfirmed_release
from notify.sms.models import SmsMessage
from notify.sms.services.replies import inbound_handle
from sessions.models import Slot
from tests.sms.factories import booking_make, slot_make, volunteer_make
from tests.threads import run_together
from volunteers.confirmations import booking_confirm_by_link, booking_offer_accept, bookings_offers_lapse
from volunteers.disclosure import front_room_disclose
from volunteers.models import Booking, BookingEvent
from volunteers.services import booking_cancel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("promotion_offers")]


@pytest.fixture
def never_quiet(settings):
    from datetime import time

    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)


def _texts(booking: Booking, kind: str) -> list[str]:
    return list(SmsMessage.objects.filter(booking=booking, kind=kind).values_list("body", flat=True))


@pytest.fixture
def full_slot_soon(locmem_sms, never_quiet):
    """A one-place slot five hours from now: Ann has the place, Ben and Cat wait in that order."""
    slot = slot_make(starts_in=timedelta(hours=5), capacity=1)
    ann, ben, cat = (booking_make(slot=slot, volunteer=volunteer_make(name=name)) for name in ("Ann", "Ben", "Cat"))
    assert [ann.status, ben.status, cat.status] == ["confirmed", "waitlisted", "waitlisted"]
    return slot, ann, ben, cat


def test_a_place_freed_close_to_the_start_is_offered_with_a_deadline_not_given(full_slot_soon):
    slot, ann, ben, _ = full_slot_soon
    booking_cancel(manage_token=ann.manage_token)
    ben.refresh_from_db()
    assert ben.status == "confirmed" and ben.offer_expires_at is not None
    assert ben.offer_expires_at <= timezone.now() + timedelta(minutes=60)
    assert BookingEvent.objects.filter(booking=ben, kind="booking_offered").exists()
    assert not BookingEvent.objects.filter(booking=ben, kind="booking_promoted").exists()
    [text] = _texts(ben, "booking_offered")
    assert "reply OK" in text and timezone.localtime(ben.offer_expires_at).strftime("%H:%M") in text
    assert "Psalter" not in text  # no address until the place is taken
    assert not front_room_disclose(booking=ben, path="page.manage").shown
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 1  # held for Ben: nobody else can take it


def test_far_from_the_start_the_waitlist_is_promoted_at_once(locmem_sms, never_quiet):
    slot = slot_make(starts_in=timedelta(days=3), capacity=1)
    ann, ben = booking_make(slot=slot), booking_make(slot=slot)
    booking_cancel(manage_token=ann.manage_token)
    ben.refresh_from_db()
    assert ben.status == "confirmed" and ben.offer_expires_at is None
    assert BookingEvent.objects.filter(booking=ben, kind="booking_promoted").exists()


def test_replying_ok_takes_the_offer_and_sends_the_address(full_slot_soon):
    _, ann, ben, _ = full_slot_soon
    booking_cancel(manage_token=ann.manage_token)
    answer = inbound_handle(from_phone=ben.volunteer.phone, body="ok")
    ben.refresh_from_db()
    assert ben.offer_expires_at is None and ben.attendance_confirmed_at is not None and "yours" in answer
    [text] = _texts(ben, "booking_promoted")
    assert "Psalter" in text
    assert booking_offer_accept(booking_id=ben.pk).pk == ben.pk  # again: the same place, nothing new
    assert len(_texts(ben, "booking_promoted")) == 1


def test_an_offer_not_taken_in_time_moves_on_to_the_next_waiter_once(full_slot_soon):
    slot, ann, ben, cat = full_slot_soon
    booking_cancel(manage_token=ann.manage_token)
    ben.refresh_from_db()
    # Just past Ben's deadline: Cat's offer, made by the sweep at the real time, lapses later than that.
    later = ben.offer_expires_at + timedelta(microseconds=1)
    assert bookings_offers_lapse(now=ben.offer_expires_at - timedelta(seconds=1)) == 0
    assert bookings_offers_lapse(now=later) == 1
    assert bookings_offers_lapse(now=later) == 0
    ben.refresh_from_db()
    cat.refresh_from_db()
    assert ben.status == "cancelled" and BookingEvent.objects.filter(booking=ben, kind="booking_offer_lapsed").exists()
    assert "next person waiting" in _texts(ben, "booking_offer_lapsed")[0]
    assert cat.status == "confirmed" and cat.offer_expires_at is not None
    assert len(_texts(cat, "booking_offered")) == 1
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 1
    with pytest.raises(InvalidState) as error:
        booking_offer_accept(booking_id=ben.pk)
    assert error.value.code == "offer_lapsed"


def test_the_link_takes_an_open_offer_too(full_slot_soon):
    _, ann, ben, _ = full_slot_soon
    booking_cancel(manage_token=ann.manage_token)
    booking_confirm_by_link(manage_token=ben.manage_token)
    ben.refresh_from_db()
    assert ben.offer_expires_at is None and len(_texts(ben, "booking_promoted")) == 1


def test_accepting_and_lapsing_at_once_give_one_outcome(full_slot_soon, settings):
    """Real threads: the volunteer's OK and the sweep race for the same offer at its deadline."""
    slot, ann, ben, cat = full_slot_soon
    booking_cancel(manage_token=ann.manage_token)
    ben.refresh_from_db()
    Booking.objects.filter(pk=ben.pk).update(offer_expires_at=timezone.now() + timedelta(seconds=2))
    deadline = timezone.now() + timedelta(seconds=2)
    outcomes = []

    def accept():
        try:
            outcomes.append(booking_offer_accept(booking_id=ben.pk).status)
        except InvalidState:
            outcomes.append("lapsed")

    def lapse():
        outcomes.append(bookings_offers_lapse(now=deadline + timedelta(seconds=1)))

    assert run_together(accept, lapse, accept, lapse) == []
    ben.refresh_from_db()
    cat.refresh_from_db()
    slot.refresh_from_db()
    assert slot.confirmed_count == 1
    holders = Booking.objects.filter(slot=slot, status="confirmed").count()
    assert holders == 1
    if ben.status == "confirmed":  # accepted first: the sweep found nothing due
        assert ben.offer_expires_at is None and cat.status == "waitlisted"
    else:
        assert cat.status == "confirmed" and ben.status == "cancelled"


def _asked(booking: Booking) -> None:
    """The day-before reminder goes out to this booking, written and sent as reminders_enqueue_due's would be."""
    from django.db import transaction

    from notify.sms.services import message_record

    with transaction.atomic():
        message_record(booking=booking, kind="reminder_day_before", version=booking.version)
    assert SmsMessage.objects.get(booking=booking, kind="reminder_day_before").status == "queued"  # to Twilio


@pytest.fixture
def release_slot(locmem_sms, never_quiet):
    slot = slot_make(starts_in=timedelta(hours=20), capacity=1)
    slot.session.confirm_required = True
    slot.session.save(update_fields=["confirm_required"])
    ann, ben = booking_make(slot=slot), booking_make(slot=slot)
    _asked(ann)
    return slot, ann, ben


def test_a_place_not_confirmed_by_the_deadline_goes_to_the_waitlist(release_slot, settings):
    slot, ann, ben = release_slot
    deadline = slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    assert unconfirmed_release(now=deadline - timedelta(minutes=1)) == 0
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 1
    assert unconfirmed_release(now=deadline + timedelta(minutes=2)) == 0
    ann.refresh_from_db()
    ben.refresh_from_db()
    assert ann.status == "cancelled" and BookingEvent.objects.filter(booking=ann, kind="booking_unconfirmed").exists()
    assert "book again" in _texts(ann, "booking_unconfirmed")[0]
    assert ben.status == "confirmed"  # within the offer window at the sweep's real time: offered
    assert Slot.objects.get(pk=slot.pk).confirmed_count == 1


def test_a_confirmed_place_is_kept(release_slot, settings):
    slot, ann, _ = release_slot
    inbound_handle(from_phone=ann.volunteer.phone, body="OK")
    deadline = slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 0
    ann.refresh_from_db()
    assert ann.status == "confirmed"


def test_nobody_is_released_who_was_not_asked_or_whose_session_does_not_ask(release_slot, settings):
    slot, ann, _ = release_slot
    SmsMessage.objects.filter(booking=ann, kind="reminder_day_before").update(status="skipped")
    deadline = slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 0
    SmsMessage.objects.filter(booking=ann, kind="reminder_day_before").update(status="delivered")
    slot.session.confirm_required = False
    slot.session.save(update_fields=["confirm_required"])
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 0
    slot.session.seat.confirm_required = True  # the seat's coordinators ask it for every session there
    slot.session.seat.save(update_fields=["confirm_required"])
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 1


def test_the_day_before_reminder_names_the_deadline_where_places_are_released(release_slot, settings):
    from notify.sms.texts import booking_text

    slot, ann, _ = release_slot
    deadline = timezone.localtime(slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS))
    ann = Booking.objects.select_related("volunteer", "slot__session__seat", "slot__session__meeting_point").get(
        pk=ann.pk)
    text = booking_text(kind="reminder_day_before", booking=ann)
    assert f"by {deadline:%H:%M} to keep your place" in text


def test_places_freed_at_once_close_to_the_start_are_offered_once_each_and_never_overbook(locmem_sms, never_quiet):
    """Real threads: three holders cancel at the same moment; each place is offered to one waiter, in turn."""
    slot = slot_make(starts_in=timedelta(hours=5), capacity=3)
    holders = [booking_make(slot=slot) for _ in range(3)]
    waiters = [booking_make(slot=slot) for _ in range(5)]
    assert run_together(*(lambda b=b: booking_cancel(manage_token=b.manage_token) for b in holders)) == []
    slot.refresh_from_db()
    offered = Booking.objects.filter(slot=slot, status="confirmed")
    assert slot.confirmed_count == offered.count() == 3
    assert set(offered.values_list("pk", flat=True)) == {b.pk for b in waiters[:3]}  # first come, first offered
    assert all(b.offer_expires_at is not None for b in offered)
    assert BookingEvent.objects.filter(kind="booking_offered").count() == 3


def test_the_host_is_told_once_per_session_of_the_places_released(locmem_sms, never_quiet, settings):
    """Two places of one session released in one run: one text and one email to the host (who takes both each
    time), naming both; a second run tells nothing more."""
    from django.core import mail

    from notify.email.models import EmailMessage
    from notify.host_notifications import host_notifications_set
    from tests.factories import HostStandingFactory
    from tests.sms.factories import host_mobile_prove

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    slot = slot_make(starts_in=timedelta(hours=20), capacity=2)
    slot.session.confirm_required = True
    slot.session.save(update_fields=["confirm_required"])
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.save(update_fields=["email"])
    HostStandingFactory(host=host, email_verified=host.email)
    host_notifications_set(host=host, each="both", digest=False, mobile="+447400999777")
    host_mobile_prove(host)
    ann, ben = (booking_make(slot=slot, volunteer=volunteer_make(name=name)) for name in ("Ann Jones", "Ben Smith"))
    _asked(ann)
    _asked(ben)
    mail.outbox = []
    deadline = slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 2
    assert unconfirmed_release(now=deadline + timedelta(minutes=2)) == 0
    [text] = SmsMessage.objects.filter(host=host, kind="host_released")
    assert text.status == "queued" and text.to == "+447400999777"
    assert "2 places on" in text.body and "Ann, Ben" in text.body and "Jones" not in text.body
    [row] = EmailMessage.objects.filter(host=host, kind="host_released")
    assert row.status == "sent"
    [email] = [m for m in mail.outbox if m.to == ["aisha@example.org"]]
    assert "2 places on" in email.subject and "Ann J." in email.body and "Ben S." in email.body
    assert not SmsMessage.objects.filter(host=host, kind="host_cancelled").exists()  # not also as cancellations


def test_a_host_who_takes_no_messages_each_time_is_not_told_of_releases(release_slot, settings):
    from notify.email.models import EmailMessage

    slot, ann, _ = release_slot
    host = slot.session.meeting_point.host
    host.email = ""  # no address: no email (nor an unproven one, notify.email.services.outbox)
    host.save(update_fields=["email"])
    deadline = slot.starts_at - timedelta(hours=settings.CONFIRM_DEADLINE_HOURS)
    assert unconfirmed_release(now=deadline + timedelta(minutes=1)) == 1
    assert not SmsMessage.objects.filter(kind="host_released").exists()  # no texts chosen
    assert not EmailMessage.objects.filter(kind="host_released").exists()
