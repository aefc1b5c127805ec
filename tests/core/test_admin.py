import pytest
from django.apps import apps
from django.contrib import admin

from tests.factories import SlotFactory, UserFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"seats", "canvass", "volunteers", "dispatch", "sms", "webhooks"}


def test_every_project_model_has_an_admin():
    # Postcodes and districts have a (boundary set, code) key, which the admin cannot edit (they are imported).
    missing = [m.__name__ for m in apps.get_models() if m._meta.app_label in PROJECT_APPS
               and m not in admin.site._registry and not m._meta.is_composite_pk]
    assert missing == []


def test_coordinator_can_open_every_admin_changelist_and_a_slot_with_its_bookings(client):
    SlotFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in admin.site._registry:
        if model._meta.app_label in PROJECT_APPS:
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert client.get(url).status_code == 200, url
            assert client.get(url, {"q": "x"}).status_code == 200, url
    from sessions.models import Slot

    assert client.get(f"/admin/canvass/slot/{Slot.objects.get().pk}/change/").status_code == 200


def _meeting_point_form(point, **changes) -> dict:
    data = {"host": point.host_id, "name": point.name, "address": point.address, "postcode": point.postcode,
            "capacity": point.capacity, "accessibility_notes": point.accessibility_notes,
            "host_first_name": point.host_first_name, "host_phone": point.host_phone, "is_active": "on"}
    return {**data, **changes}


@pytest.mark.django_db(transaction=True)
def test_a_coordinator_moving_a_front_room_in_the_admin_texts_the_volunteers_booked_there(client, settings):
    settings.SMS_BACKEND, settings.SMS_RATE_PER_SECOND = "locmem", 0
    from notify.sms.models import SmsMessage
    from sessions.models import MeetingPoint
    from tests.factories import PostcodeFactory
    from tests.sms.factories import booking_make, seat_make, slot_make

    PostcodeFactory(postcode="S11 8UX", lat=53.37, lng=-1.50, seat=seat_make())
    slot = slot_make(address="27 Psalter Lane, Sheffield")
    booking = booking_make(slot=slot)
    point = MeetingPoint.objects.get(pk=slot.session.meeting_point_id)
    client.force_login(UserFactory(username="coord-moves", is_staff=True, is_superuser=True))

    response = client.post(f"/admin/canvass/meetingpoint/{point.pk}/change/",
                           _meeting_point_form(point, address="4 Crookes Road, Sheffield"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MeetingPoint.objects.get(pk=point.pk).address == "4 Crookes Road, Sheffield"
    moved = SmsMessage.objects.get(booking=booking, kind="venue_moved")
    assert "4 Crookes Road" in moved.body and moved.status == "queued"


def test_the_admin_geocodes_a_new_front_room_and_refuses_an_unknown_postcode(client):
    from sessions.models import MeetingPoint
    from tests.factories import PostcodeFactory

    known = PostcodeFactory(postcode="S10 1AA", lat=53.381, lng=-1.489)
    host = UserFactory(username="host-admin")
    client.force_login(UserFactory(username="coord-adds", is_staff=True, is_superuser=True))
    form = {"host": host.pk, "name": "Spare room", "address": "3 Crookes Road", "postcode": "s101aa", "capacity": 8,
            "accessibility_notes": "", "host_first_name": "Sam", "host_phone": "", "is_active": "on"}
    assert client.post("/admin/canvass/meetingpoint/add/", form).status_code == 302
    point = MeetingPoint.objects.get(name="Spare room")
    assert (point.postcode, point.lat, point.lng, point.seat_id) == ("S10 1AA", known.lat, known.lng, known.seat_id)

    refused = client.post("/admin/canvass/meetingpoint/add/", {**form, "name": "Nowhere", "postcode": "XX1 1XX"})
    assert refused.status_code == 200 and "Unknown postcode" in refused.content.decode()
    assert not MeetingPoint.objects.filter(name="Nowhere").exists()


def _coordinator(client):
    client.force_login(UserFactory(username="coord-keeps-counts", is_staff=True, is_superuser=True))


@pytest.mark.django_db(transaction=True)
def test_booking_admin_is_read_only_and_cancels_through_the_service(client):
    from tests.sms.factories import booking_make, slot_make
    from volunteers.models import Booking

    slot = slot_make(capacity=1)
    holder, waiting = booking_make(slot=slot), booking_make(slot=slot)
    _coordinator(client)
    assert client.get("/admin/volunteers/booking/add/").status_code == 403
    client.post(f"/admin/volunteers/booking/{holder.pk}/change/", {"status": "waitlisted"})
    assert Booking.objects.get(pk=holder.pk).status == "confirmed"  # not an editable field

    client.post("/admin/volunteers/booking/", {"action": "cancel_bookings", "_selected_action": [holder.pk]})
    assert Booking.objects.get(pk=holder.pk).status == "cancelled"
    assert Booking.objects.get(pk=waiting.pk).status == "confirmed"  # the freed place went to the waitlist
    slot.refresh_from_db()
    assert slot.confirmed_count == 1


@pytest.mark.django_db(transaction=True)
def test_slot_capacity_changes_in_the_admin_go_through_the_service(client):
    from tests.sms.factories import booking_make, slot_make
    from volunteers.models import Booking

    slot = slot_make(capacity=1)
    booking_make(slot=slot)
    waiting = booking_make(slot=slot)
    _coordinator(client)
    form = {"capacity": 0, "turf": "Odd numbers", "bookings-TOTAL_FORMS": 2, "bookings-INITIAL_FORMS": 2,
            "bookings-MIN_NUM_FORMS": 0, "bookings-MAX_NUM_FORMS": 1000}
    for i, booking in enumerate(Booking.objects.filter(slot=slot).order_by("pk")):  # the read-only inline
        form.update({f"bookings-{i}-id": booking.pk, f"bookings-{i}-slot": slot.pk})
    refused = client.post(f"/admin/canvass/slot/{slot.pk}/change/", form)
    assert refused.status_code == 200 and "already confirmed" in refused.content.decode()
    assert client.post(f"/admin/canvass/slot/{slot.pk}/change/", {**form, "capacity": 2}).status_code == 302
    slot.refresh_from_db()
    assert (slot.capacity, slot.turf, slot.confirmed_count) == (2, "Odd numbers", 2)
    assert Booking.objects.get(pk=waiting.pk).status == "confirmed"  # more room promoted the waitlist
    assert client.get("/admin/canvass/slot/add/").status_code == 403
    assert client.get("/admin/canvass/canvasssession/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_deleting_a_volunteer_in_the_admin_gives_their_place_back(client):
    from tests.sms.factories import booking_make, slot_make
    from volunteers.models import Booking, Volunteer

    slot = slot_make(capacity=1)
    holder, waiting = booking_make(slot=slot), booking_make(slot=slot)
    _coordinator(client)
    response = client.post(f"/admin/volunteers/volunteer/{holder.volunteer_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Volunteer.objects.filter(pk=holder.volunteer_id).exists()
    assert Booking.objects.get(pk=waiting.pk).status == "confirmed"
    slot.refresh_from_db()
    assert slot.confirmed_count == 1


@pytest.mark.django_db(transaction=True)
def test_deleting_a_confirmed_booking_in_the_admin_gives_its_place_back(client):
    from tests.sms.factories import booking_make, slot_make
    from volunteers.models import Booking

    slot = slot_make(capacity=1)
    holder, waiting = booking_make(slot=slot), booking_make(slot=slot)
    _coordinator(client)
    client.post("/admin/volunteers/booking/", {"action": "delete_selected", "_selected_action": [holder.pk],
                                               "post": "yes"})
    assert not Booking.objects.filter(pk=holder.pk).exists()
    assert Booking.objects.get(pk=waiting.pk).status == "confirmed"
    slot.refresh_from_db()
    assert slot.confirmed_count == 1


def test_a_sessions_status_and_meeting_point_cannot_be_edited_in_its_admin_form(client):
    from sessions.models import CanvassSession
    from tests.factories import MeetingPointFactory

    session = SlotFactory().session
    room = session.meeting_point_id
    _coordinator(client)
    page = client.get(f"/admin/canvass/canvasssession/{session.pk}/change/")
    assert page.status_code == 200
    fields = page.context["adminform"].form.fields
    assert "status" not in fields and "meeting_point" not in fields
    other_room = MeetingPointFactory()
    client.post(f"/admin/canvass/canvasssession/{session.pk}/change/",
                {"title": session.title, "seat": session.seat_id, "status": "cancelled", "meeting_point": other_room.pk})
    session.refresh_from_db()
    assert (session.status, session.meeting_point_id) == (CanvassSession.Status.PUBLISHED, room)


def test_the_bookings_slots_and_events_listed_under_their_parent_are_read_only(client):
    from tests.sms.factories import booking_make, slot_make
    from volunteers.models import Booking

    booking = booking_make(slot=slot_make())
    _coordinator(client)
    pages = {f"/admin/volunteers/volunteer/{booking.volunteer_id}/change/": "bookings",
             f"/admin/volunteers/booking/{booking.pk}/change/": "events",
             f"/admin/canvass/slot/{booking.slot_id}/change/": "bookings",
             f"/admin/canvass/canvasssession/{booking.slot.session_id}/change/": "slots"}
    for url, prefix in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        formsets = {formset.formset.prefix: formset for formset in response.context["inline_admin_formsets"]}
        inline = formsets[prefix]
        assert inline.has_add_permission is False and inline.opts.can_delete is False, url
        hidden = {"id", "DELETE", inline.formset.fk.name}  # the row's id and its parent's, not for editing
        assert inline.formset.forms, url
        assert all(set(form.fields) <= hidden for form in inline.formset.forms), url
        assert inline.readonly_fields == inline.opts.fields, url
    assert Booking.objects.count() == 1
