import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import get_with_related, insert_or_get, upsert_returning
from sessions.models import MeetingPoint, Slot
from tests.factories import BookingFactory, SlotFactory, VolunteerFactory
from volunteers.models import Booking, BookingEvent, Volunteer

pytestmark = pytest.mark.django_db


def test_insert_or_get_inserts_once_and_then_returns_the_existing_row():
    volunteer = VolunteerFactory(phone="+447400000009", name="V", postcode="S10 1AA", lat=53.38, lng=-1.5)
    booking = BookingFactory(volunteer=volunteer, slot=SlotFactory(), status=Booking.Status.CONFIRMED)
    first, created = insert_or_get(BookingEvent(booking=booking, kind="booking_confirmed", version=1,
                                                payload={"source": "direct"}), unique_fields=("booking", "kind", "version"))
    assert created and first.pk
    again, created_again = insert_or_get(BookingEvent(booking=booking, kind="booking_confirmed", version=1,
                                                      payload={"other": True}), unique_fields=("booking", "kind", "version"))
    assert not created_again and again.pk == first.pk
    stored = BookingEvent.objects.get()
    assert stored.payload == {"source": "direct"} and stored.created_at is not None and stored.processed_at is None


def test_get_with_related_loads_the_same_objects_as_select_related_in_one_query():
    slot = SlotFactory()
    expected = Slot.objects.select_related("session__meeting_point", "session__seat").get(pk=slot.pk)
    with CaptureQueriesContext(connection) as queries:
        loaded = get_with_related(Slot, slot.pk, related=("session__meeting_point", "session__seat"))
        assert loaded.session.meeting_point.address == expected.session.meeting_point.address
        assert loaded.session.seat.name == expected.session.seat.name
    assert len(queries) == 1
    for a, b in ((loaded, expected), (loaded.session, expected.session),
                 (loaded.session.meeting_point, expected.session.meeting_point),
                 (loaded.session.seat, expected.session.seat)):
        assert type(a) is type(b)
        assert {f.attname: getattr(a, f.attname) for f in a._meta.concrete_fields} == \
               {f.attname: getattr(b, f.attname) for f in b._meta.concrete_fields}


def test_get_with_related_gives_none_for_a_null_foreign_key_and_for_unknown_or_impossible_keys():
    slot = SlotFactory()
    MeetingPoint.objects.filter(pk=slot.session.meeting_point_id).update(seat=None)
    room = get_with_related(MeetingPoint, slot.session.meeting_point_id, related=("seat",))
    assert room is not None and room.seat is None
    assert get_with_related(Slot, slot.pk + 1000, related=("session",)) is None
    assert get_with_related(Slot, 10**30, related=("session",)) is None  # PostgreSQL would raise on it


def test_upsert_returning_creates_then_updates_only_the_named_fields():
    volunteer, created = upsert_returning(
        Volunteer(phone="+447400000010", name="First", postcode="S10 1AA", lat=53.38, lng=-1.5, consent_sms=True),
        unique_fields=("phone",), update_fields=("name", "postcode"))
    assert created and volunteer.pk and volunteer.token and volunteer.consent_sms
    again, created_again = upsert_returning(
        Volunteer(phone="+447400000010", name="Second", postcode="S11 8AA", lat=1.0, lng=1.0, consent_sms=False),
        unique_fields=("phone",), update_fields=("name", "postcode"))
    assert not created_again and again.pk == volunteer.pk
    stored = Volunteer.objects.get()
    assert (stored.name, stored.postcode, stored.lat, stored.consent_sms, stored.token) == \
           ("Second", "S11 8AA", 53.38, True, volunteer.token)
    assert stored.updated_at >= volunteer.updated_at
    assert (again.name, again.token) == ("Second", volunteer.token)


@pytest.mark.django_db(transaction=True)
def test_upsert_returning_leaves_the_row_locked_until_the_transaction_ends():
    VolunteerFactory(phone="+447400000011", name="V", postcode="S10 1AA", lat=53.38, lng=-1.5)
    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                            dbname=settings["NAME"], autocommit=True)
    lock_sql = "SELECT id FROM volunteers_volunteer WHERE phone = %s FOR UPDATE NOWAIT"
    try:
        with transaction.atomic():
            upsert_returning(Volunteer(phone="+447400000011", name="W", postcode="S10 1AA", lat=53.38, lng=-1.5),
                             unique_fields=("phone",), update_fields=("name",))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(lock_sql, ["+447400000011"])
        assert other.execute(lock_sql, ["+447400000011"]).fetchone()  # released at commit
    finally:
        other.close()
