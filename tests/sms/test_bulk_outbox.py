"""Many booking events recorded at once (an assignment commit) get their messages in bulk, each exactly once."""

import pytest
from django.db import transaction

from notify.sms.models import SmsMessage
from tests.factories import BookingFactory
from tests.sms.factories import slot_make, volunteer_make
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _bulk_confirm(slot, volunteers, payload=None):
    with transaction.atomic():
        bookings = Booking.objects.bulk_create(
            [BookingFactory.build(volunteer=v, slot=slot, source=Booking.Source.ASSIGNED)
             for v in volunteers])
        booking_events_record_bulk(booking_versions=[(b.pk, b.version) for b in bookings],
                                   kind=BookingEvent.Kind.CONFIRMED, payload=payload or {})
    return bookings


def test_bulk_events_write_one_message_each_and_send_them_in_batches(locmem_sms, django_capture_on_commit_callbacks):
    slot = slot_make(capacity=20)
    volunteers = [volunteer_make(name=f"Volunteer {i}") for i in range(12)] + [volunteer_make(consent_sms=False)]
    with django_capture_on_commit_callbacks(execute=True):
        bookings = _bulk_confirm(slot, volunteers, {"source": "assigned", "run": 1})
    messages = SmsMessage.objects.filter(booking__in=bookings)
    assert messages.count() == 13
    assert messages.filter(status="skipped", skip_reason="no_consent").count() == 1
    assert messages.filter(status="queued").exclude(twilio_sid=None).count() == 12
    assert sorted(m["to"] for m in locmem_sms) == sorted(v.phone for v in volunteers[:12])
    assert all("27 Psalter Lane" in m["body"] for m in locmem_sms)
    # The batch task processed every event too.
    assert not BookingEvent.objects.filter(processed_at__isnull=True).exists()


def test_bulk_rows_roll_back_with_the_change(locmem_sms):
    slot = slot_make()
    with pytest.raises(RuntimeError), transaction.atomic():
        _bulk_confirm(slot, [volunteer_make(), volunteer_make()])
        raise RuntimeError("the commit failed")
    assert not SmsMessage.objects.exists() and not BookingEvent.objects.exists()


def test_a_redirects_new_booking_gets_no_confirmation_of_its_own(locmem_sms, django_capture_on_commit_callbacks):
    slot = slot_make()
    with django_capture_on_commit_callbacks(execute=True):
        _bulk_confirm(slot, [volunteer_make()], {"source": "redirect", "redirected_from": 1})
    assert not SmsMessage.objects.exists() and locmem_sms == []


MESSAGE_COLUMNS = ("volunteer_id", "to", "body", "encoding", "segments", "skip_reason")


def test_bulk_rows_match_the_single_path_message_for_message(locmem_sms):
    """Texts rendered once per slot must equal what message_record renders for each booking alone."""
    from notify.sms.services.outbox import _message_row

    slots = [
        slot_make(),
        slot_make(title="Fête de la {rue}: Łódź & Zoë's doorstep drive, with an over-long title to clip",
                  address="Flat 3, 12 O'Connell Street, above the café beside the long parade of shops",
                  what_to_bring="", host_first_name=""),
        slot_make(title="Waltham Forest “leafleting”", what_to_bring="Umbrella — it’s forecast rain"),
    ]
    people = [
        dict(name="Siân O'Brien"), dict(name="  "), dict(name="Bartholomew-Maximilian Featherstonehaugh"),
        dict(name="Zoë & <Ana>"), dict(name="李 雷"), dict(name="Jo", consent_sms=False),
        dict(name="Kim", sms_opted_out=True), dict(name="Lee", phone_invalid=True),
    ]
    bookings = []
    for slot in slots:
        bookings += _bulk_confirm(slot, [volunteer_make(**person) for person in people], {"source": "assigned"})
    rows = {(m.booking_id, m.kind, m.version): m for m in SmsMessage.objects.all()}
    assert len(rows) == len(bookings)
    for booking in Booking.objects.filter(pk__in=[b.pk for b in bookings]).select_related(
        "volunteer", "slot__session__meeting_point", "slot__session__seat"
    ):
        expected = _message_row(booking=booking, kind=BookingEvent.Kind.CONFIRMED, version=booking.version)
        written = rows[(booking.pk, BookingEvent.Kind.CONFIRMED, booking.version)]
        assert [getattr(written, c) for c in MESSAGE_COLUMNS] == [getattr(expected, c) for c in MESSAGE_COLUMNS]
        # Pending rows were sent after commit (eager Celery); skipped ones stay skipped.
        assert (written.status == "skipped") == (expected.status == "skipped")
    assert {m.skip_reason for m in rows.values()} == {"", "no_consent", "opted_out", "phone_invalid"}


def test_bulk_texts_match_booking_text_for_every_kind():
    from notify.sms.texts import booking_text, booking_texts
    from volunteers.disclosure import front_rooms_disclose_slot

    slot = slot_make(title="A {braced} title & more", what_to_bring="")
    names = ["D'Arcy O'Brien", "", "Ana-María", "Featherstonehaugh-Smythe-Wellington"]
    volunteers = [volunteer_make(name=name) for name in names]
    bookings = [BookingFactory.build(volunteer=v, slot=slot, status=Booking.Status.CONFIRMED) for v in volunteers]
    for kind in ("booking_confirmed", "booking_waitlisted", "booking_promoted", "booking_cancelled",
                 "session_cancelled"):
        rooms = front_rooms_disclose_slot(slot=slot, volunteer_ids=[v.pk for v in volunteers],
                                          booking_ids=[None] * len(volunteers), path=f"sms.{kind}")
        assert booking_texts(kind=kind, slot=slot, volunteer_names=names, manage_tokens=[b.manage_token for b in bookings],
                             minutes=45, rooms=rooms) == [
            booking_text(kind=kind, booking=b, minutes=45) for b in bookings]


def test_a_repeated_bulk_event_adds_no_second_message_and_sends_nothing_again(locmem_sms, monkeypatch):
    from notify.sms.services import outbox

    slot = slot_make()
    bookings = _bulk_confirm(slot, [volunteer_make(), volunteer_make()])
    enqueued = []
    monkeypatch.setattr(outbox, "messages_enqueue_batches", enqueued.append)
    events = list(BookingEvent.objects.filter(booking__in=bookings))
    with transaction.atomic():
        assert outbox.messages_record_for_events(events=events) == 2
    assert enqueued == []
    assert SmsMessage.objects.filter(booking__in=bookings).count() == 2
    assert len(locmem_sms) == 2


def test_recording_the_same_bulk_event_twice_is_refused_as_an_integrity_error(locmem_sms):
    from django.db import IntegrityError

    slot = slot_make()
    bookings = _bulk_confirm(slot, [volunteer_make()])
    with pytest.raises(IntegrityError), transaction.atomic():
        booking_events_record_bulk(booking_versions=[(bookings[0].pk, bookings[0].version)],
                                   kind=BookingEvent.Kind.CONFIRMED)
    assert BookingEvent.objects.count() == SmsMessage.objects.count() == 1


def test_a_bulk_redirect_event_is_worded_about_the_new_booking(locmem_sms):
    from notify.sms.services.outbox import messages_record_for_events
    from notify.sms.texts import booking_text
    from volunteers.events import RecordedEvent

    full, elsewhere = slot_make(title="Full session"), slot_make(title="Where help is needed")
    volunteer = volunteer_make(name="Siân Jones")
    old = BookingFactory(volunteer=volunteer, slot=full, status=Booking.Status.REDIRECTED)
    new = BookingFactory(volunteer=volunteer, slot=elsewhere, status=Booking.Status.CONFIRMED,
                         source=Booking.Source.REDIRECT)
    old.redirected_to = new
    old.save(update_fields=["redirected_to"])
    with transaction.atomic():
        written = messages_record_for_events(events=[
            RecordedEvent(1, old.pk, BookingEvent.Kind.REDIRECTED, old.version, {}),
            RecordedEvent(2, new.pk, BookingEvent.Kind.CONFIRMED, new.version, {"source": "redirect"}),
        ])
    assert written == 1
    message = SmsMessage.objects.get()
    assert message.booking_id == old.pk and message.kind == "booking_redirected"
    assert message.body == booking_text(kind="booking_redirected", booking=old)
    assert "Full session" in message.body and "Siân" not in message.body and "Sian" in message.body
