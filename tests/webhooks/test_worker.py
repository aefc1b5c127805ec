"""Deliveries through real Celery worker processes on Redis to a local receiver: signatures verify with the
receiver's secret, a failing or disabled endpoint holds up no other, 500s are retried until they succeed, and a
worker killed with SIGKILL mid-delivery loses nothing (at least once, under one stable webhook-id)."""

import json
from collections import defaultdict
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from standardwebhooks.webhooks import Webhook

from notify.webhooks import services
from notify.webhooks.models import WebhookDelivery
from notify.webhooks.signing import verify
from tests.sms.conftest import broker
from tests.sms.factories import booking_make, slot_make
from tests.waiting import wait_until
from volunteers.models import BookingEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _event_ids() -> set[str]:
    return {f"evt_{pk}" for pk in BookingEvent.objects.values_list("id", flat=True)}


def test_signed_deliveries_reach_the_receiver_while_a_failing_and_a_disabled_endpoint_get_nothing_in_the_way(
        redis_client, receiver, hook_workers):
    crm = services.endpoint_create(user=None, url=receiver.url + "/crm")
    down = services.endpoint_create(user=None, url=receiver.url + "/down")
    off = services.endpoint_create(user=None, url=receiver.url + "/off", enabled=False)
    receiver.script["/down"] = [500] * 1000
    with broker(django_settings.REDIS_URL):
        hook_workers()
        slot = slot_make(capacity=20)
        for _ in range(6):
            booking_make(slot=slot)
        wait_until(lambda: len(receiver.to("/crm")) >= 6 and len(receiver.to("/down")) >= 6, timeout=90,
                   message="the CRM to receive six events, and the failing endpoint to be tried six times")
    received = receiver.to("/crm")
    assert {r.headers["webhook-id"] for r in received} == _event_ids()
    for request in received:
        assert Webhook(crm.secret).verify(request.body, request.headers)["type"] == "booking.confirmed"
        assert verify(secret=crm.secret, headers=request.headers, body=request.body) == request.headers["webhook-id"]
    assert receiver.to("/off") == [] and not WebhookDelivery.objects.filter(endpoint=off).exists()
    # tried (and retrying) alongside, never in the CRM's way
    assert not WebhookDelivery.objects.filter(endpoint=down, status="delivered").exists()


def test_a_receiver_answering_500_gets_retries_then_success(redis_client, receiver, hook_workers):
    services.endpoint_create(user=None, url=receiver.url + "/crm")
    receiver.script["/crm"] = [500, 502]
    with broker(django_settings.REDIS_URL):
        hook_workers()
        booking_make(slot=slot_make())
        wait_until(lambda: WebhookDelivery.objects.filter(status="delivered").exists(), timeout=90,
                   message="the delivery to succeed after two 5xx")
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 3 and delivery.response_status == 200
    attempts = receiver.to("/crm")
    assert len(attempts) == 3 and len({r.headers["webhook-id"] for r in attempts}) == 1
    assert len({r.body for r in attempts}) == 1
    assert len({r.headers["webhook-timestamp"] for r in attempts}) >= 1  # each attempt signed at its own time


def test_a_worker_killed_mid_delivery_loses_nothing(redis_client, receiver, hook_workers):
    services.endpoint_create(user=None, url=receiver.url + "/crm")
    receiver.delay = 1.0  # each answer is slow: the kill lands mid-POST
    total = 8
    with broker(django_settings.REDIS_URL):
        slot = slot_make(capacity=total)
        for _ in range(total):
            booking_make(slot=slot)
        first = hook_workers()
        wait_until(receiver.in_flight.is_set, timeout=90, interval=0.01, message="a delivery to be in flight")
        first.kill9()
        assert WebhookDelivery.objects.exclude(status="delivered").exists()
        hook_workers()

        def all_delivered() -> bool:
            # Beat runs the sweep every minute; here, every pass: rows left "delivering" by the dead worker.
            services.deliveries_requeue_stuck(grace=timedelta(0), stale_after=timedelta(seconds=3))
            return not WebhookDelivery.objects.exclude(status="delivered").exists()

        wait_until(all_delivered, timeout=120, interval=1.0, message="every delivery to be delivered")
    bodies = defaultdict(set)
    for request in receiver.to("/crm"):
        bodies[request.headers["webhook-id"]].add(request.body)
    assert set(bodies) == _event_ids()  # every event at least once
    assert all(len(variants) == 1 for variants in bodies.values())  # a repeat is byte for byte the same: dedupe by id
    assert WebhookDelivery.objects.filter(attempts__gt=1).exists()  # the one the dead worker held went again
    assert all(json.loads(next(iter(v)))["id"] == k for k, v in bodies.items())
