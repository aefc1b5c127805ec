"""The webhook outbox in process: rows written with the booking change, delivered signed to a local receiver, retried
or failed by what the receiver answers, endpoints disabled and enabled, erasure, replay."""

import json
from datetime import UTC, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notify.webhooks import services, tasks
from notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from notify.webhooks.services import outbox
from tests.factories import BookingFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent
from volunteers.privacy import volunteer_personal_data_erase
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch, settings):
    """The delivery ids handed to Celery (after commit), not run: each test delivers them when it says."""
    settings.SMS_RATE_PER_SECOND = 0
    handed: list[int] = []
    monkeypatch.setattr(outbox, "delivery_enqueue", lambda pk, countdown=None: handed.append(pk))
    monkeypatch.setattr(outbox, "deliveries_enqueue_batches", lambda rows: handed.extend(pk for pk, _ in rows))
    return handed


def endpoint(receiver, path="/crm", **fields) -> WebhookEndpoint:
    return services.endpoint_create(user=None, url=receiver.url + path, **fields)


def send_all() -> list[str]:
    return [services.delivery_send(delivery_id=pk) for pk in WebhookDelivery.objects.order_by("id")
            .values_list("id", flat=True)]


def make_due() -> None:
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_booking_writes_one_delivery_per_enabled_endpoint_that_wants_its_type(loopback_allowed, receiver):
    crm = endpoint(receiver, "/crm")
    sheet = endpoint(receiver, "/sheet", event_types=["booking.cancelled"])
    off = endpoint(receiver, "/off", enabled=False)
    booking = booking_make(slot=slot_make(), volunteer=volunteer_make(email="jo@example.org"))
    rows = list(WebhookDelivery.objects.values_list("endpoint_id", "event_type", "status"))
    assert rows == [(crm.pk, "booking.confirmed", "pending")]
    assert off.pk not in {row[0] for row in rows} and sheet.pk not in {row[0] for row in rows}
    booking_cancel(manage_token=booking.manage_token)
    assert sorted(WebhookDelivery.objects.filter(event_type="booking.cancelled").values_list("endpoint_id", flat=True)) \
        == sorted([crm.pk, sheet.pk])


def test_a_delivery_enqueued_on_commit_posts_a_signed_osdi_attendance(loopback_allowed, receiver, enqueued):
    hook = endpoint(receiver)
    volunteer = volunteer_make(name="Jo Anne Bloggs", email="jo@example.org")
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    assert enqueued == [WebhookDelivery.objects.get().pk]
    # disable_sync_subtasks: an earlier test's in-process worker leaves Celery's "inside a task" flag set.
    assert tasks.delivery_send.apply(args=(enqueued[0],)).get(disable_sync_subtasks=False) == "delivered"
    [request] = receiver.to("/crm")
    event = BookingEvent.objects.get(booking=booking)
    assert request.headers["webhook-id"] == f"evt_{event.pk}"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(hook.secret).verify(request.body, request.headers)  # the reference library's check
    assert payload["id"] == f"evt_{event.pk}" and payload["type"] == "booking.confirmed"
    data = payload["data"]
    assert data["status"] == "accepted" and data["attended"] is None
    assert data["identifiers"] == [f"frontroom:booking-{booking.pk}"]
    assert data["person"]["given_name"] == "Jo" and data["person"]["family_name"] == "Anne Bloggs"
    assert data["person"]["email_addresses"] == [{"address": "jo@example.org", "primary": True}]
    assert data["person"]["phone_numbers"][0]["number"] == volunteer.phone
    assert data["event"]["title"] == booking.slot.session.title
    assert data["event"]["start_date"].endswith("Z") and data["event"]["location"]["postal_code"] == "S11"
    assert "Psalter Lane" not in request.body.decode()  # the host's address never leaves
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.response_status == 200
    assert delivery.body.encode() == request.body


def test_without_personal_data_the_person_is_only_an_identifier(loopback_allowed, receiver):
    endpoint(receiver, include_personal_data=False)
    booking = booking_make(slot=slot_make())
    send_all()
    person = json.loads(receiver.to("/crm")[0].body)["data"]["person"]
    assert person == {"identifiers": [f"frontroom:volunteer-{booking.volunteer_id}"]}


def test_waitlisted_is_tentative_and_cancelled_is_declined(loopback_allowed, receiver):
    endpoint(receiver)
    slot = slot_make(capacity=1)
    booking_make(slot=slot)
    waiting = booking_make(slot=slot)
    booking_cancel(manage_token=waiting.manage_token)
    send_all()
    statuses = [(json.loads(r.body)["type"], json.loads(r.body)["data"]["status"]) for r in receiver.to("/crm")]
    assert statuses == [("booking.confirmed", "accepted"), ("booking.waitlisted", "tentative"),
                        ("booking.cancelled", "declined")]


def test_a_bulk_commit_writes_one_delivery_per_event_and_endpoint(loopback_allowed, receiver):
    first, second = endpoint(receiver, "/a"), endpoint(receiver, "/b")
    endpoint(receiver, "/c", event_types=["booking.cancelled"])
    slot = slot_make(capacity=5)
    bookings = [BookingFactory(volunteer=volunteer_make(), slot=slot, status="confirmed") for _ in range(3)]
    with transaction.atomic():
        events = booking_events_record_bulk(booking_versions=[(b.pk, b.version) for b in bookings],
                                            kind=BookingEvent.Kind.CONFIRMED)
    rows = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
    assert rows == {(event.id, hook.pk) for event in events for hook in (first, second)}
    assert send_all() == ["delivered"] * 6
    assert len(receiver.to("/a")) == len(receiver.to("/b")) == 3


def test_a_500_is_retried_with_backoff_then_delivered(loopback_allowed, receiver):
    loopback_allowed.WEBHOOK_RETRY_BASE_SECONDS, loopback_allowed.WEBHOOK_RETRY_MAX_SECONDS = 60, 600
    endpoint(receiver)
    receiver.script["/crm"] = [500, 503]
    booking_make(slot=slot_make())
    delivery = WebhookDelivery.objects.get()
    assert services.delivery_send(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.response_status == 500 and delivery.error == "HTTP 500"
    assert 30 <= (delivery.next_attempt_at - delivery.updated_at).total_seconds() <= 60  # base 60 s, jittered
    assert services.delivery_send(delivery_id=delivery.pk) == "not_due"  # not before its time
    make_due()
    services.delivery_send(delivery_id=delivery.pk)
    make_due()
    assert services.delivery_send(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.status == "delivered"
    assert len({r.headers["webhook-id"] for r in receiver.to("/crm")}) == 1  # one id for every attempt
    assert len({r.body for r in receiver.to("/crm")}) == 1  # and the same body
    assert WebhookEndpoint.objects.get().consecutive_failures == 0


@pytest.mark.parametrize("status", [400, 401, 404, 422, 301])
def test_other_4xx_and_redirects_fail_at_once(loopback_allowed, receiver, status):
    endpoint(receiver)
    receiver.script["/crm"] = [status]
    booking_make(slot=slot_make())
    assert send_all() == ["failed"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.response_status == status and delivery.attempts == 1


def test_408_and_429_are_retried_and_retry_after_is_honoured(loopback_allowed, receiver):
    loopback_allowed.WEBHOOK_RETRY_MAX_SECONDS = 600
    endpoint(receiver)
    receiver.script["/crm"] = [429, 408]
    receiver.extra_headers["/crm"] = {"Retry-After": "120"}
    booking_make(slot=slot_make())
    assert send_all() == ["retrying"]
    delivery = WebhookDelivery.objects.get()
    wait = (delivery.next_attempt_at - delivery.updated_at).total_seconds()
    assert 119 <= wait <= 121
    make_due()
    assert send_all() == ["retrying"]
    assert WebhookDelivery.objects.get().response_status == 408


def test_a_connection_refused_is_retried(loopback_allowed, receiver):
    hook = endpoint(receiver)
    booking_make(slot=slot_make())
    WebhookEndpoint.objects.filter(pk=hook.pk).update(url="http://127.0.0.1:1/crm")  # nothing listens there
    assert send_all() == ["retrying"]
    assert "ConnectionError" in WebhookDelivery.objects.get().error


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_and_enabling_sends_what_waited(loopback_allowed, receiver,
                                                                                         enqueued):
    loopback_allowed.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    hook, other = endpoint(receiver, "/down"), endpoint(receiver, "/up")
    receiver.script["/down"] = [500] * 3
    slot = slot_make()
    for _ in range(3):
        booking_make(slot=slot)
    send_all()
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_reason == "failing" and hook.consecutive_failures == 3
    assert len(receiver.to("/up")) == 3  # the other endpoint got everything meanwhile
    booking_make(slot=slot)  # no row for the disabled endpoint
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 3
    make_due()
    assert set(send_all()) == {"not_due", "delivered"}  # its waiting rows are not claimed while disabled
    assert len(receiver.to("/down")) == 3
    enqueued.clear()
    services.endpoint_enable(endpoint_id=hook.pk)
    waited = list(WebhookDelivery.objects.filter(endpoint=hook).order_by("id").values_list("id", flat=True))
    assert enqueued == waited  # handed to Celery on commit, due now
    assert [services.delivery_send(delivery_id=pk) for pk in waited] == ["delivered"] * 3
    hook.refresh_from_db()
    assert hook.enabled and hook.consecutive_failures == 0 and hook.disabled_reason == ""
    assert WebhookDelivery.objects.filter(endpoint=hook, status="delivered").count() == 3
    assert WebhookDelivery.objects.filter(endpoint=other, status="delivered").count() == 4


def test_410_gone_disables_the_endpoint_at_once(loopback_allowed, receiver):
    hook = endpoint(receiver)
    receiver.script["/crm"] = [410]
    booking_make(slot=slot_make())
    assert send_all() == ["failed"]
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_reason == "gone"


def test_an_address_refused_at_delivery_time_is_never_contacted(loopback_allowed, receiver):
    by_ip, by_name = endpoint(receiver, "/ip"), services.endpoint_create(
        user=None, url=receiver.url.replace("127.0.0.1", "localhost") + "/name")
    booking_make(slot=slot_make())
    loopback_allowed.WEBHOOK_ALLOWED_NETWORKS = []  # e.g. the name now resolves somewhere private
    assert send_all() == ["failed", "failed"]
    errors = dict(WebhookDelivery.objects.values_list("endpoint_id", "error"))
    assert "private, loopback or link-local" in errors[by_ip.pk]
    assert "which deliveries may not reach" in errors[by_name.pk]  # caught on the connection, after DNS
    assert receiver.requests == []


def test_a_rotated_secret_signs_alongside_the_old_one_until_it_expires(loopback_allowed, receiver):
    hook = endpoint(receiver)
    old = hook.secret
    rotated = services.endpoint_secret_rotate(endpoint_id=hook.pk)
    assert rotated.secret != old
    booking_make(slot=slot_make())
    send_all()
    request = receiver.to("/crm")[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)
    services.endpoint_secret_rotate(endpoint_id=hook.pk, previous_valid_hours=0)
    WebhookDelivery.objects.update(status="failed")
    services.delivery_redeliver(delivery_id=WebhookDelivery.objects.get().pk)
    send_all()
    assert len(receiver.to("/crm")[1].headers["webhook-signature"].split(" ")) == 1


def test_redeliver_sends_the_same_body_under_the_same_id(loopback_allowed, receiver, enqueued):
    endpoint(receiver)
    booking_make(slot=slot_make())
    send_all()
    delivery = WebhookDelivery.objects.get()
    enqueued.clear()
    assert services.delivery_redeliver(delivery_id=delivery.pk)
    assert enqueued == [delivery.pk]
    assert send_all() == ["delivered"]
    first, second = receiver.to("/crm")
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    WebhookDelivery.objects.update(status="pending")
    assert not services.delivery_redeliver(delivery_id=delivery.pk)  # only delivered or failed ones


def test_erasure_blanks_bodies_and_what_still_waits_goes_without_personal_data(loopback_allowed, receiver):
    hook = endpoint(receiver)
    volunteer = volunteer_make(name="Sam Secret", email="sam@example.org")
    booking_make(slot=slot_make(), volunteer=volunteer)
    send_all()
    services.endpoint_disable(endpoint_id=hook.pk)
    services.endpoint_enable(endpoint_id=hook.pk)
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)  # releases the booking: a cancellation waits
    assert not WebhookDelivery.objects.exclude(body="").exists()
    make_due()
    send_all()
    cancelled = json.loads(receiver.to("/crm")[-1].body)
    assert cancelled["type"] == "booking.cancelled"
    assert cancelled["data"]["person"] == {"identifiers": [f"frontroom:volunteer-{volunteer.pk}"]}
    assert "Secret" not in receiver.to("/crm")[-1].body.decode()


def _asked(slot, name="Jo Anne Bloggs"):
    from tests.factories import PostcodeFactory, booking_ask, next_mobile

    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    return booking_ask(slot_id=slot.pk, name=name, phone=next_mobile(), postcode=postcode, email="jo@example.org")


def test_a_proven_phone_is_delivered_once_as_booking_proven_with_a_stable_id(loopback_allowed, receiver, enqueued):
    from volunteers.identity import booking_prove_by_link

    hook = endpoint(receiver, "/crm")  # every type by default, booking.proven among them
    endpoint(receiver, "/sheet", event_types=["booking.cancelled"])
    endpoint(receiver, "/off", enabled=False)
    assert "booking.proven" in hook.event_types
    challenge = _asked(slot_make())
    booking = Booking.objects.get(pk=challenge.booking_id)
    assert not WebhookDelivery.objects.filter(event_type="booking.proven").exists()  # not proven yet
    booking_prove_by_link(manage_token=booking.manage_token)
    booking_prove_by_link(manage_token=booking.manage_token)  # opened again: proven once, one delivery
    [proven] = WebhookDelivery.objects.filter(event_type="booking.proven")
    assert (proven.endpoint_id, proven.event_id, proven.booking_id) == (hook.pk, None, booking.pk)
    assert proven.pk in enqueued and proven.webhook_id == f"evt_proven_{booking.pk}"
    assert services.delivery_send(delivery_id=proven.pk) == "delivered"
    assert services.delivery_send(delivery_id=proven.pk) == "not_due"  # run twice: one POST
    [request] = [r for r in receiver.to("/crm") if r.headers["webhook-id"] == f"evt_proven_{booking.pk}"]
    payload = Webhook(hook.secret).verify(request.body, request.headers)
    booking.refresh_from_db()
    assert payload["id"] == f"evt_proven_{booking.pk}" and payload["type"] == "booking.proven"
    assert payload["timestamp"] == booking.proven_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    data = payload["data"]
    assert data["identifiers"] == [f"frontroom:booking-{booking.pk}"] and data["status"] == "accepted"
    assert data["frontroom:booking"]["phone_proven"] is True and data["person"]["given_name"] == "Jo"
    assert data["event"]["identifiers"] == [f"frontroom:session-{booking.slot.session_id}",
                                            f"frontroom:slot-{booking.slot_id}"]
    assert "address" not in json.dumps(data["event"])
    # A redelivery is the same body under the same id.
    assert services.delivery_redeliver(delivery_id=proven.pk)
    assert services.delivery_send(delivery_id=proven.pk) == "delivered"
    again = [r for r in receiver.to("/crm") if r.headers["webhook-id"] == f"evt_proven_{booking.pk}"]
    assert len(again) == 2 and again[0].body == again[1].body


def test_the_typed_code_proves_the_booking_for_the_endpoints_too(loopback_allowed, receiver):
    from tests.factories import texted_code
    from volunteers.identity import challenge_verify

    endpoint(receiver, "/crm", event_types=["booking.proven"])
    slot = slot_make(capacity=1)
    booking_make(slot=slot)  # full: the request is waitlisted
    challenge = _asked(slot)
    challenge_verify(challenge_token=challenge.token, code=texted_code(challenge.token), client_ip="198.51.100.7")
    [proven] = WebhookDelivery.objects.all()
    assert (proven.event_type, proven.booking_id) == ("booking.proven", challenge.booking_id)
    assert send_all() == ["delivered"]
    assert json.loads(receiver.to("/crm")[0].body)["data"]["status"] == "tentative"  # the waitlisted booking's


def test_erasure_blanks_a_proven_delivery_too(loopback_allowed, receiver):
    from volunteers.identity import booking_prove_by_link

    endpoint(receiver, "/crm", event_types=["booking.proven"])
    challenge = _asked(slot_make(), name="Secret Name")
    booking = Booking.objects.get(pk=challenge.booking_id)
    booking_prove_by_link(manage_token=booking.manage_token)
    assert send_all() == ["delivered"]
    assert "Secret" in WebhookDelivery.objects.get().body
    volunteer_personal_data_erase(volunteer_id=booking.volunteer_id)
    assert WebhookDelivery.objects.get().body == ""


def test_booking_proven_is_a_type_endpoints_subscribe_to(loopback_allowed, receiver):
    hook = endpoint(receiver, "/crm", event_types=["booking.proven", "booking.confirmed"])
    assert hook.event_types == ["booking.confirmed", "booking.proven"]  # canonical order
    booking_make(slot=slot_make())  # a confirmation still goes; the proof is its own type
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["booking.confirmed"]
