import pytest
from django.apps import apps
from django.contrib import admin

from tests.factories import SlotFactory, UserFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"seats", "canvass", "volunteers", "dispatch", "sms"}


def test_every_project_model_has_an_admin():
    missing = [m.__name__ for m in apps.get_models() if m._meta.app_label in PROJECT_APPS and m not in admin.site._registry]
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
    from dispatch.sms.models import SmsMessage
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
