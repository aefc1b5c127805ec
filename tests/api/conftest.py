import pytest
from rest_framework.test import APIClient

from sessions.models import Slot
from tests.factories import MeetingPointFactory, SlotFactory, UserFactory, api_client_for


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def host(db):
    return UserFactory(username="aisha")


@pytest.fixture
def host_api(host):
    return api_client_for(host)


@pytest.fixture
def other_host_api(db):
    return api_client_for(UserFactory(username="mallory"))


@pytest.fixture
def coordinator_api(db):
    return api_client_for(UserFactory(username="coord", is_staff=True))


@pytest.fixture
def meeting_point(host, seat, postcode):
    return MeetingPointFactory(host=host, seat=seat, postcode=postcode.postcode)


@pytest.fixture
def slot(meeting_point):
    return SlotFactory(session__meeting_point=meeting_point, capacity=3)


@pytest.fixture
def approval_slot(slot):
    """`slot` with one place, on a session whose host approves each volunteer."""
    slot.session.requires_approval = True
    slot.session.save(update_fields=["requires_approval"])
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    return Slot.objects.get(pk=slot.pk)


def booking_body(phone="07400 123456", postcode="s101aa", name="Ann Volunteer", **extra):
    return {"name": name, "phone": phone, "postcode": postcode, "consent_sms": True, **extra}
