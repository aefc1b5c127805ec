"""A volunteer's data export lists the webhook deliveries made about their bookings: what was sent about them and
to whom (the receiver's host name), with no secret (no signing secret, no URL path, no private link)."""

import json

import pytest
from django.db.models import Q
from rest_framework.test import APIClient

from notify.webhooks.models import WebhookDelivery
from tests.factories import WebhookEndpointFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + "S" * 32
URL = "https://crm.example.org/hooks/catch/9321/k3y-in-the-path/"


def test_the_export_lists_the_webhook_deliveries_about_the_volunteers_bookings():
    endpoint = WebhookEndpointFactory(url=URL, secret=SECRET, include_personal_data=True)
    volunteer = volunteer_make(name="Priya Shah", phone="+447700900321")
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    someone_else = booking_make(slot=slot_make(), volunteer=volunteer_make(name="Other Person"))
    delivery = WebhookDelivery.objects.get(Q(booking=booking) | Q(event__booking=booking))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="delivered", body=json.dumps({"person": {"given_name": "Priya"}}), response_status=200)

    response = APIClient().get(f"/api/bookings/{booking.manage_token}/my-data/")
    assert response.status_code == 200
    body = response.json()
    [exported] = body["webhook_deliveries"]
    assert exported["id"] == delivery.pk and exported["status"] == "delivered"
    assert exported["receiver"] == "crm.example.org" and exported["body"] == {"person": {"given_name": "Priya"}}
    text = json.dumps(body)
    for secret in (SECRET, "k3y-in-the-path", booking.manage_token, endpoint.secret):
        assert secret not in text
    assert "Other Person" not in text and someone_else.manage_token not in text
