"""The admin: endpoints added through the service with the secret shown once, rotation, the delivery log."""

import re

import pytest

from notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from notify.webhooks.services import outbox
from tests.factories import UserFactory
from tests.sms.factories import booking_make, slot_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, monkeypatch, loopback_allowed):
    monkeypatch.setattr(outbox, "delivery_enqueue", lambda pk, countdown=None: None)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _add(admin_client, url, **extra):
    return admin_client.post("/admin/webhooks/webhookendpoint/add/", {
        "url": url, "description": "CRM", "event_types": ["booking.confirmed", "booking.cancelled"],
        "include_personal_data": "on", "enabled": "on", **extra})


def test_adding_an_endpoint_shows_its_generated_secret_once(admin_client, receiver):
    page = _add(admin_client, receiver.url + "/crm")
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in page.content.decode() and endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["booking.confirmed", "booking.cancelled"]
    change = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in change
    assert endpoint.secret not in admin_client.get("/admin/webhooks/webhookendpoint/").content.decode()


def test_the_admin_refuses_a_private_address_with_a_message(admin_client, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    page = _add(admin_client, "http://169.254.169.254/latest/")
    assert page.status_code == 200 and "private, loopback or link-local" in page.content.decode()
    page = _add(admin_client, "https://example.org/", new_secret="whsec_bad")
    assert "base64" in page.content.decode() or "bytes" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotate_action_shows_the_new_secret_and_the_log_redelivers(admin_client, receiver):
    _add(admin_client, receiver.url + "/crm")
    endpoint = WebhookEndpoint.objects.get()
    old = endpoint.secret
    page = admin_client.post("/admin/webhooks/webhookendpoint/", {"action": "rotate_secret",
                                                                   "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old and endpoint.secret in page.content.decode()
    booking_make(slot=slot_make())
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(status="failed", error="HTTP 500", response_status=500, body='{"x":1}')
    log = admin_client.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert "HTTP 500" in log and f"evt_{delivery.event_id}" in log
    assert '{&quot;x&quot;:1}' in admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    admin_client.post("/admin/webhooks/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.get().status == "pending"
    assert re.search(r"webhook delivery", str(WebhookDelivery._meta.verbose_name))
