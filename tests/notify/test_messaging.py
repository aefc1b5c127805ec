"""Messages to everyone booked (issue 25): who they reach, the preview, the API, the per-day cap, scopes, quiet
hours, and exactly-once delivery through a real worker."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, RateLimited
from notify.consent import CAMPAIGN, SERVICE
from notify.email.models import EmailMessage
from notify.messaging import message_preview, message_send
from notify.messaging.audience import Audience, audience_for_coordinator, audience_for_host
from notify.models import Broadcast
from notify.sms import services as sms
from notify.sms.models import SmsMessage
from tests.factories import LiftOfferFactory, OrganiserScopeFactory, UserFactory, api_client_for
from tests.sms.factories import booking_make, seat_make, slot_make, volunteer_make
from tests.waiting import wait_until
from volunteers.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _daytime(settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)  # never quiet


def _session_with(*, proven: int = 2, unproven: int = 1, campaign: int = 1):
    slot = slot_make()
    for n in range(proven):
        booking_make(slot=slot, volunteer=volunteer_make(consent_campaign=n < campaign))
    for _ in range(unproven):
        booking_make(slot=slot, proven=False)
    return slot


def test_the_audience_is_the_sessions_proven_places_each_volunteer_once(locmem_sms):
    slot = _session_with(proven=3, unproven=2)
    twice = Booking.objects.filter(slot=slot, proven_at__isnull=False).first().volunteer
    second = slot_make(starts_in=timedelta(days=4))
    second.session = slot.session
    second.save()
    booking_make(slot=second, volunteer=twice)  # a second slot of the same session
    preview = message_preview(audience=Audience(session=slot.session), purpose=SERVICE, body="Hello")
    assert (preview.recipients, preview.texts, preview.emails, preview.unreached) == (3, 3, 0, 0)
    assert SmsMessage.objects.filter(kind__startswith="broadcast").count() == 0  # a preview writes nothing


def test_the_preview_says_what_a_campaign_message_reaches_and_costs(locmem_sms, settings):
    settings.SMS_SEGMENT_COST_PENCE = 5.0
    slot = _session_with(proven=3, campaign=1)
    preview = message_preview(audience=Audience(session=slot.session), purpose=CAMPAIGN, body="Join us Sunday too")
    assert (preview.recipients, preview.texts, preview.unreached) == (3, 1, 2)
    assert preview.segments >= 1 and preview.cost_pence == preview.segments * 5.0
    assert "Join us Sunday too" in preview.sample and "From Frontroom" in preview.sample


def test_a_host_messages_only_their_own_session(locmem_sms):
    slot = _session_with()
    with pytest.raises(NotFound):
        audience_for_host(user=UserFactory(), session_id=slot.session_id)
    response = api_client_for(UserFactory()).post(f"/api/sessions/{slot.session_id}/messages/", {"body": "Hi"},
                                                 format="json")
    assert response.status_code == 404
    assert not Broadcast.objects.exists()


def test_the_api_sends_a_hosts_message_and_says_how_many_it_reaches(locmem_sms):
    slot = _session_with(proven=2, unproven=1)
    host = slot.session.meeting_point.host
    api = api_client_for(host)
    url = f"/api/sessions/{slot.session_id}/messages/"
    preview = api.post(url, {"body": "Bring an umbrella", "preview": True}, format="json")
    assert preview.status_code == 200 and preview.json()["sent"] is False and preview.json()["texts"] == 2
    locmem_sms.clear()
    sent = api.post(url, {"body": "Bring an umbrella"}, format="json")
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert (body["recipients"], body["reached"], body["texts"], body["purpose"]) == (2, 2, 2, "service")
    assert len(locmem_sms) == 2 and all("Bring an umbrella" in m["body"] for m in locmem_sms)
    assert "+447" not in sent.content.decode()  # nobody's number in the answer
    broadcast = Broadcast.objects.get()
    assert (broadcast.sender, broadcast.session_id, broadcast.texts) == (host, slot.session_id, 2)


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "body"), ({"body": "   "}, "body"), ({"body": "x" * 481}, "body"),
    ({"body": "Hi", "purpose": "marketing"}, "purpose"), ({"body": "Hi", "to": "+447400000000"}, "to"),
])
def test_bad_input_is_a_400_naming_the_field_and_sends_nothing(payload, field, locmem_sms):
    slot = _session_with()
    response = api_client_for(slot.session.meeting_point.host).post(
        f"/api/sessions/{slot.session_id}/messages/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Broadcast.objects.exists()


def test_a_sender_has_a_daily_cap(locmem_sms, settings):
    settings.MESSAGES_PER_SENDER_DAY = 2
    slot = _session_with(proven=1, unproven=0)
    api = api_client_for(slot.session.meeting_point.host)
    url = f"/api/sessions/{slot.session_id}/messages/"
    assert [api.post(url, {"body": f"Note {n}"}, format="json").status_code for n in range(3)] == [201, 201, 429]
    assert Broadcast.objects.count() == 2
    with pytest.raises(RateLimited):
        message_send(sender=slot.session.meeting_point.host, audience=Audience(session=slot.session),
                     purpose=SERVICE, body="Again")


def test_in_quiet_hours_the_texts_wait_for_the_morning(locmem_sms, settings):
    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59, 59)
    slot = _session_with(proven=1, unproven=0)
    locmem_sms.clear()
    broadcast = message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE,
                             body="Early start tomorrow")
    row = SmsMessage.objects.get(broadcast=broadcast)
    assert (row.status, row.attempts) == ("pending", 0) and row.next_attempt_at > timezone.now()
    assert locmem_sms == []


def _emailed(count: int) -> list:
    slot = slot_make()
    for n in range(count):
        booking_make(slot=slot, volunteer=volunteer_make(email=f"reader{n}@example.org", consent_email=True))
    return slot


def test_in_quiet_hours_the_emails_wait_for_the_morning_too(locmem_sms, mail_outbox, settings):
    from notify.email.services import messages_requeue_stuck
    from notify.pacing import quiet_hours_end

    settings.SMS_QUIET_HOURS_START, settings.SMS_QUIET_HOURS_END = time(0, 0), time(23, 59, 59)
    slot = _emailed(2)
    mail_outbox.clear()
    broadcast = message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE,
                             body="Early start tomorrow")
    rows = EmailMessage.objects.filter(broadcast=broadcast)
    assert [(row.status, row.attempts) for row in rows] == [("pending", 0)] * 2
    assert {row.next_attempt_at for row in rows} == {quiet_hours_end(timezone.now())}
    assert mail_outbox == [] and messages_requeue_stuck(grace=timedelta(0)) == 0  # nothing due before the morning
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = time(0, 0)  # the morning
    rows.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert messages_requeue_stuck(grace=timedelta(0)) == 2
    assert sorted(m.to[0] for m in mail_outbox) == ["reader0@example.org", "reader1@example.org"]
    assert set(rows.values_list("status", flat=True)) == {"sent"}


def test_broadcast_emails_are_spread_at_the_configured_rate(locmem_sms, mail_outbox, settings, redis_client,
                                                           monkeypatch):
    """Each email waits for its turn on one clock in Redis that every worker shares: at one email per 100 s, the
    four sends are told to wait about 0, 100, 200 and 300 s (the sleep is recorded, not slept)."""
    settings.EMAIL_BROADCAST_RATE_PER_SECOND = 0.01
    from types import SimpleNamespace

    from notify import pacing

    waits = []
    monkeypatch.setattr(pacing, "time", SimpleNamespace(sleep=waits.append))
    slot = _emailed(4)
    mail_outbox.clear()
    message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE, body="Bring a brolly")
    assert len(mail_outbox) == 4
    assert [round(wait / 100) for wait in [0.0, *waits]] == [0, 1, 2, 3]
    settings.EMAIL_BROADCAST_RATE_PER_SECOND = 0  # 0: no limit
    waits.clear()
    redis_client.flushdb()
    message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE, body="Bring two")
    assert len(mail_outbox) == 8 and waits == []


def test_coordinators_message_a_day_within_their_scope(locmem_sms):
    seat = seat_make()
    other = seat_make(ons_code="E14000999", name="Elsewhere")
    slot = _session_with(proven=2, unproven=0)
    day = timezone.localtime(slot.starts_at).date()
    national = UserFactory(is_staff=True)
    audience = audience_for_coordinator(user=national, day=day)
    assert message_preview(audience=audience, purpose=SERVICE, body="Hi").recipients == 2
    assert message_preview(audience=audience_for_coordinator(user=national, day=day + timedelta(days=1)),
                           purpose=SERVICE, body="Hi").recipients == 0
    organiser = UserFactory(is_staff=True)
    scope = OrganiserScopeFactory(user=organiser, regions=[])
    scope.seats.add(other)
    with pytest.raises(NotFound):
        audience_for_coordinator(user=organiser, day=day, seat_code=seat.pk)
    with pytest.raises(PermissionDenied):
        audience_for_coordinator(user=organiser, day=day, region="Yorkshire")
    mine = audience_for_coordinator(user=organiser, day=day)  # all their seats: not this one
    assert message_preview(audience=mine, purpose=SERVICE, body="Hi").recipients == 0
    scope.seats.add(seat)
    organiser = type(organiser).objects.get(pk=organiser.pk)  # its scope is read once per request
    mine = audience_for_coordinator(user=organiser, day=day)
    assert message_preview(audience=mine, purpose=SERVICE, body="Hi").recipients == 2


def test_a_coordinators_page_previews_then_sends(client, locmem_sms):
    slot = _session_with(proven=2, unproven=0)
    day = timezone.localtime(slot.starts_at).date()
    client.force_login(UserFactory(is_staff=True))
    form = {"day": day.isoformat(), "seat": "", "region": "", "purpose": SERVICE, "body": "See you there"}
    preview = client.post("/coordinate/messages/", {**form, "action": "preview"})
    assert preview.status_code == 200 and b"Before you send" in preview.content
    assert not Broadcast.objects.exists()
    sent = client.post("/coordinate/messages/", {**form, "action": "send"})
    assert sent.status_code == 302 and Broadcast.objects.get().texts == 2


def test_a_broadcast_through_a_real_worker_sends_each_text_exactly_once(celery_worker, locmem_sms, settings):
    slot = slot_make(capacity=40)
    for _ in range(30):
        booking_make(slot=slot)
    locmem_sms.clear()
    broadcast = message_send(sender=UserFactory(), audience=Audience(session=slot.session), purpose=SERVICE,
                             body="Thank you all")
    rows = SmsMessage.objects.filter(broadcast=broadcast)
    wait_until(lambda: rows.filter(status="queued").count() == 30, message="30 texts sent",
               detail=lambda: list(rows.values_list("status", flat=True)))
    # The sweep and a second enqueue of every row send nothing twice.
    sms.messages_requeue_stuck(grace=timedelta(0))
    for row_id in rows.values_list("id", flat=True):
        sms.message_enqueue(row_id)
    wait_until(lambda: sum("Thank you all" in m["body"] for m in locmem_sms) >= 30, message="texts in the outbox")
    bodies = [m["to"] for m in locmem_sms if "Thank you all" in m["body"]]
    assert len(bodies) == len(set(bodies)) == 30


def test_the_messages_endpoint_answers_what_its_schema_says(locmem_sms, settings):
    from tests.api.test_openapi_conformance import Schema

    settings.MESSAGES_PER_SENDER_DAY = 1
    schema = Schema()
    path = "/api/sessions/{session_id}/messages/"
    slot = _session_with()
    url = f"/api/sessions/{slot.session_id}/messages/"
    host = api_client_for(slot.session.meeting_point.host)
    schema.check("POST", path, host.post(url, {"body": "Hi", "preview": True}, format="json"))
    schema.check("POST", path, host.post(url, {"body": "Hi"}, format="json"))
    schema.check("POST", path, host.post(url, {"body": "Hi"}, format="json"))  # 429
    schema.check("POST", path, host.post(url, {}, format="json"))
    schema.check("POST", path, api_client_for(UserFactory()).post(url, {"body": "Hi"}, format="json"))
    assert {code for _, _, code in schema.checked} == {"200", "201", "429", "400", "404"}


def test_coordinators_message_only_the_drivers_offering_lifts_that_day(locmem_sms):
    slot = _session_with(proven=3, unproven=0)
    driver = Booking.objects.filter(slot=slot).first()
    LiftOfferFactory(booking=driver, slot=slot, seats=2, pickup_kind="station", pickup_label="The station",
                     pickup_postcode="S1", pickup_district="S1", pickup_lat=53.38, pickup_lng=-1.47,
                     departs_at=slot.starts_at - timedelta(minutes=30))
    day = timezone.localtime(slot.starts_at).date()
    national = UserFactory(is_staff=True)
    everyone = audience_for_coordinator(user=national, day=day)
    drivers = audience_for_coordinator(user=national, day=day, drivers=True)
    assert message_preview(audience=everyone, purpose=SERVICE, body="Hi").recipients == 3
    assert message_preview(audience=drivers, purpose=SERVICE, body="Parking is behind the hall").recipients == 1
    sent = message_send(sender=national, audience=drivers, purpose=SERVICE, body="Parking is behind the hall")
    assert sent.drivers and sent.recipients == 1
    assert list(SmsMessage.objects.filter(broadcast=sent).values_list("volunteer_id", flat=True)) == [
        driver.volunteer_id]
