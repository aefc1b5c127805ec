"""Personal data and the proof of phone: the consent record and phone challenges are exported, codes are not,
and erasing deletes the challenges (which carry the number and the details typed with a request)."""

import json

import pytest
from rest_framework.test import APIClient

from tests.factories import PostcodeFactory
from tests.sms.factories import seat_make, slot_make
from volunteers.identity import booking_request
from volunteers.models import Booking, PhoneChallenge

pytestmark = pytest.mark.django_db


def test_export_has_consent_and_challenges_without_codes_and_erasing_deletes_the_challenges():
    slot = slot_make()
    PostcodeFactory(postcode="S10 1AA", seat=seat_make())
    challenge = booking_request(slot_id=slot.pk, name="Priya Shah", phone="07400 900321", postcode="S10 1AA",
                                email="priya@example.org", consent_sms=True, client_ip="203.0.113.9")
    booking = Booking.objects.get(volunteer__phone="+447400900321")
    api = APIClient()
    body = api.get(f"/api/bookings/{booking.manage_token}/my-data/").json()
    assert body["volunteer"]["consent_sms_at"] and body["volunteer"]["consent_sms_version"]
    (exported,) = body["challenges"]
    assert exported["purpose"] == "booking" and "code_hash" not in exported and "token" not in exported
    assert challenge.token not in json.dumps(body) and challenge.code_hash not in json.dumps(body)
    response = api.post(f"/api/bookings/{booking.manage_token}/delete-my-data/", {"confirm": "DELETE"}, format="json")
    assert response.status_code == 200
    assert not PhoneChallenge.objects.filter(pk=challenge.pk).exists()
    assert not PhoneChallenge.objects.filter(phone="+447400900321").exists()
