"""/api/webhooks/: coordinators only; the secret shown once; bad input named by field; the delivery log."""

import pytest
from rest_framework.test import APIClient

from notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from notify.webhooks.services import outbox
from tests.factories import UserFactory, api_client_for
from tests.sms.factories import booking_make, slot_make

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    return APIClient() if user is None else api_client_for(user)


@pytest.fixture
def coordinator():
    return client_for(UserFactory(username="coord", is_staff=True))


@pytest.fixture(autouse=True)
def held(monkeypatch, loopback_allowed):
    monkeypatch.setattr(outbox, "delivery_enqueue", lambda pk, countdown=None: None)
    monkeypatch.setattr(outbox, "deliveries_enqueue_batches", lambda rows: None)


def create(coordinator, receiver, **body):
    return coordinator.post("/api/webhooks/endpoints/", {"url": receiver.url + "/crm", **body}, format="json")


def test_only_coordinators_can_see_or_register_endpoints(receiver):
    body = {"url": receiver.url + "/crm"}
    assert client_for().get("/api/webhooks/endpoints/").status_code == 401
    host = client_for(UserFactory(username="host"))
    assert host.get("/api/webhooks/endpoints/").status_code == 403
    assert host.post("/api/webhooks/endpoints/", body, format="json").status_code == 403
    assert host.get("/api/webhooks/deliveries/").status_code == 403
    assert client_for().post("/api/webhooks/endpoints/", body, format="json").json()["error"]["code"] \
        == "not_authenticated"
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_shown_at_creation_and_never_listed(coordinator, receiver):
    created = create(coordinator, receiver, description="Our CRM", event_types=["booking.confirmed"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["booking.confirmed"]
    assert body["secret"] == WebhookEndpoint.objects.get().secret
    listed = coordinator.get("/api/webhooks/endpoints/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in coordinator.get(f"/api/webhooks/endpoints/{body['id']}/").json()
    assert body["secret"] not in coordinator.get("/api/webhooks/endpoints/").content.decode()


def test_a_given_secret_is_kept_and_every_type_is_the_default(coordinator, receiver):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = create(coordinator, receiver, secret=secret).json()
    assert body["secret"] == secret and "booking.cancelled" in body["event_types"] and len(body["event_types"]) == 15
    assert body["event_types"][-1] == "booking.proven"  # the 14 booking events' types, then the proof's


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://127.0.0.2/x"}, "url"),
    ({"url": "ftp://example.org/"}, "url"),
    ({"url": ""}, "url"),
    ({"event_types": ["booking.exploded"]}, "event_types.0"),
    ({"event_types": []}, "event_types"),
    ({"secret": "not-a-secret"}, "secret"),
    ({"include_personal_data": "perhaps"}, "include_personal_data"),
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(coordinator, receiver, body, field):
    answer = create(coordinator, receiver, **body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_https_is_required_outside_the_allowlist(coordinator, receiver, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    answer = create(coordinator, receiver)
    assert answer.status_code == 400 and "https" in answer.json()["error"]["fields"]["url"][0]


def test_rotating_shows_the_new_secret_once_and_patch_reenables(coordinator, receiver):
    first = create(coordinator, receiver).json()
    rotated = coordinator.post(f"/api/webhooks/endpoints/{first['id']}/rotate-secret/", {}, format="json")
    assert rotated.status_code == 200 and rotated.json()["secret"] != first["secret"]
    assert rotated.json()["previous_secret_until"] is not None
    bad = coordinator.post(f"/api/webhooks/endpoints/{first['id']}/rotate-secret/", {"previous_valid_hours": 1000},
                           format="json")
    assert bad.status_code == 400 and "previous_valid_hours" in bad.json()["error"]["fields"]
    WebhookEndpoint.objects.update(enabled=False, disabled_reason="failing", consecutive_failures=50)
    patched = coordinator.patch(f"/api/webhooks/endpoints/{first['id']}/", {"enabled": True}, format="json")
    assert patched.status_code == 200
    assert patched.json()["enabled"] and patched.json()["consecutive_failures"] == 0
    assert patched.json()["disabled_reason"] == "" and "secret" not in patched.json()
    moved = coordinator.patch(f"/api/webhooks/endpoints/{first['id']}/", {"url": "https://10.0.0.1/"}, format="json")
    assert moved.status_code == 400 and "url" in moved.json()["error"]["fields"]


def test_unknown_and_non_numeric_ids_are_404(coordinator):
    assert coordinator.get("/api/webhooks/endpoints/999/").status_code == 404
    assert coordinator.get("/api/webhooks/endpoints/abc/").status_code == 404
    assert coordinator.post("/api/webhooks/deliveries/999/redeliver/").status_code == 404


def test_the_delivery_log_lists_filters_and_redelivers(coordinator, receiver):
    endpoint_id = create(coordinator, receiver).json()["id"]
    booking_make(slot=slot_make())
    delivery = WebhookDelivery.objects.get()
    rows = coordinator.get("/api/webhooks/deliveries/", {"endpoint": endpoint_id, "status": "pending"}).json()
    assert [row["id"] for row in rows["results"]] == [delivery.pk]
    assert rows["results"][0]["webhook_id"] == f"evt_{delivery.event_id}" and "body" not in rows["results"][0]
    assert coordinator.get("/api/webhooks/deliveries/", {"status": "delivered"}).json()["results"] == []
    bad = coordinator.get("/api/webhooks/deliveries/", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    assert coordinator.post(f"/api/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 409  # still pending
    WebhookDelivery.objects.update(status="failed", attempts=12)
    again = coordinator.post(f"/api/webhooks/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202 and again.json()["status"] == "pending" and again.json()["attempts"] == 0


def test_deleting_an_endpoint_removes_its_log(coordinator, receiver):
    endpoint_id = create(coordinator, receiver).json()["id"]
    booking_make(slot=slot_make())
    assert coordinator.delete(f"/api/webhooks/endpoints/{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_the_schema_documents_the_webhook_endpoints(coordinator):
    schema = client_for().get("/api/schema/?format=json").json()
    for path in ("/api/webhooks/endpoints/", "/api/webhooks/endpoints/{id}/",
                 "/api/webhooks/endpoints/{id}/rotate-secret/", "/api/webhooks/deliveries/",
                 "/api/webhooks/deliveries/{id}/redeliver/"):
        assert path in schema["paths"], path
    created = schema["paths"]["/api/webhooks/endpoints/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("WebhookEndpointWithSecret")
