"""A volunteer downloads and erases their personal data through their private link; the retention purge; masked
numbers and the audit trail for coordinators (issue 11, volunteers.privacy)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import CoordinatorAction
from dispatch.services.coverage import coverage_by_seat
from notify.sms.models import SmsMessage
from sessions.models import Slot
from tests.factories import (
    AvailabilityWindowFactory,
    BookingFactory,
    SlotFactory,
    UserFactory,
    WebhookEndpointFactory,
    api_client_for,
)
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.models import AvailabilityWindow, Booking, Volunteer
from volunteers.privacy import personal_data_purge

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def _priya(**extra) -> Volunteer:
    return volunteer_make(name="Priya Shah", phone="+447700900321", email="priya@example.org", **extra)


def _past_attended(volunteer: Volunteer, *, ended_days_ago: float = 3, slot=None) -> Booking:
    slot = slot or SlotFactory(session__starts_at=timezone.now() - timedelta(days=ended_days_ago, hours=2),
                               session__ends_at=timezone.now() - timedelta(days=ended_days_ago))
    return BookingFactory(volunteer=volunteer, slot=slot, status=Booking.Status.ATTENDED)


def test_a_volunteer_downloads_everything_stored_about_them_without_any_link(api):
    volunteer = _priya()
    AvailabilityWindowFactory(volunteer=volunteer, starts_at=timezone.now() + timedelta(days=1),
                              ends_at=timezone.now() + timedelta(days=1, hours=4))
    booking = booking_make(slot=slot_make(title="Saturday doors"), volunteer=volunteer)
    other = booking_make(slot=slot_make(starts_in=timedelta(days=6), title="Sunday doors"), volunteer=volunteer)
    response = api.get(f"/api/bookings/{booking.manage_token}/my-data/")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    body = response.json()
    assert {k: body["volunteer"][k] for k in ("name", "phone", "email", "postcode", "consent_sms")} == {
        "name": "Priya Shah", "phone": "+447700900321", "email": "priya@example.org", "postcode": "S10 1AA",
        "consent_sms": True}
    assert [b["session"]["title"] for b in body["bookings"]] == ["Saturday doors", "Sunday doors"]
    assert body["bookings"][0]["events"][0]["kind"] == "booking_confirmed"
    assert len(body["availability"]) == 1
    assert {m["kind"] for m in body["sms_messages"]} == {"booking_confirmed"}
    assert all("Priya" in m["body"] for m in body["sms_messages"])
    text = json.dumps(body)
    for secret in (booking.manage_token, other.manage_token, volunteer.token):
        assert secret not in text  # one forwarded link must not open every other booking
    assert api.get("/api/bookings/not-a-real-link/my-data/").status_code == 404


@pytest.mark.parametrize("body", [{}, {"confirm": "yes"}, {"confirm": ""}])
def test_erasing_needs_the_explicit_confirmation_and_changes_nothing_without_it(api, body):
    volunteer = _priya()
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    response = api.post(f"/api/bookings/{booking.manage_token}/delete-my-data/", body, format="json")
    assert response.status_code == 400 and "confirm" in response.json()["error"]["fields"]
    volunteer.refresh_from_db()
    booking.refresh_from_db()
    assert (volunteer.name, volunteer.anonymised_at, booking.status) == ("Priya Shah", None, Booking.Status.CONFIRMED)


def test_erasing_releases_places_promotes_the_waitlist_and_keeps_anonymous_counts(api):
    volunteer = _priya()
    full = slot_make(capacity=1, title="Full session")
    host = full.session.meeting_point.host
    mine = booking_make(slot=full, volunteer=volunteer)
    waiting = booking_make(slot=full, volunteer=volunteer_make(name="Sam Lee"))
    past = _past_attended(volunteer)
    AvailabilityWindowFactory(volunteer=volunteer, starts_at=timezone.now(),
                              ends_at=timezone.now() + timedelta(hours=3))
    past_period = {"date_from": timezone.now() - timedelta(days=10), "date_to": timezone.now() - timedelta(days=1)}
    coverage_before = coverage_by_seat(**past_period)
    assert coverage_before

    link = mine.manage_token
    response = api.post(f"/api/bookings/{link}/delete-my-data/", {"confirm": "DELETE"}, format="json")
    assert response.status_code == 200 and response.json()["deleted"] is True

    volunteer.refresh_from_db()
    assert (volunteer.name, volunteer.email, volunteer.postcode) == ("", "", "S10")
    assert "+447700900321" not in volunteer.phone and volunteer.anonymised_at is not None
    assert not AvailabilityWindow.objects.filter(volunteer=volunteer).exists()
    mine.refresh_from_db()
    waiting.refresh_from_db()
    past.refresh_from_db()
    assert mine.status == Booking.Status.CANCELLED
    assert waiting.status == Booking.Status.CONFIRMED  # promoted in the same transaction
    assert Slot.objects.get(pk=full.pk).confirmed_count == 1
    assert past.status == Booking.Status.ATTENDED  # kept, anonymous: it is in the counts
    messages = SmsMessage.objects.filter(volunteer=volunteer)
    assert messages.exists() and set(messages.values_list("to", "body")) == {("", "")}
    assert not messages.filter(status__in=["pending", "sending"]).exists()
    assert coverage_by_seat(**past_period) == coverage_before
    # Every private link stops working; the host's roster shows the place given up, with no number.
    assert mine.manage_token != link
    assert api.get(f"/api/bookings/{link}/my-data/").status_code == 404
    assert api.get(f"/api/bookings/{link}/").status_code == 404
    host_api = api_client_for(host)
    roster = host_api.get(f"/api/sessions/{full.session_id}/bookings/").json()["results"]
    erased = [row for row in roster if row["id"] == mine.pk]
    assert erased and erased[0]["status"] == "cancelled" and erased[0]["volunteer"] == {
        "name": "", "phone": "", "email": ""}
    # A second request (the link is dead) and a second erase change nothing.
    from volunteers.privacy import volunteer_personal_data_erase

    assert volunteer_personal_data_erase(volunteer_id=volunteer.pk) is False


def test_the_purge_anonymises_only_volunteers_whose_sessions_all_ended_long_ago_and_runs_once():
    long_gone = volunteer_make(name="Long Gone")
    _past_attended(long_gone, ended_days_ago=100)
    recent = volunteer_make(name="Recent")
    _past_attended(recent, ended_days_ago=10)
    coming_back = volunteer_make(name="Coming Back")
    _past_attended(coming_back, ended_days_ago=100)
    booking_make(slot=slot_make(), volunteer=coming_back)
    signed_up_only = volunteer_make(name="Signed Up")
    available_soon = volunteer_make(name="Available Soon")
    AvailabilityWindowFactory(volunteer=available_soon, starts_at=timezone.now() + timedelta(days=2),
                              ends_at=timezone.now() + timedelta(days=2, hours=3))
    Volunteer.objects.update(updated_at=timezone.now() - timedelta(days=120))

    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", "--dry-run", stdout=out)
    assert "2 volunteer(s)" in out.getvalue() and "Nothing changed" in out.getvalue()
    assert not Volunteer.objects.filter(anonymised_at__isnull=False).exists()

    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", stdout=out, stderr=StringIO())
    assert "Anonymised 2 volunteer(s)" in out.getvalue()
    erased = set(Volunteer.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True))
    assert erased == {long_gone.pk, signed_up_only.pk}
    assert set(Volunteer.objects.exclude(pk__in=erased).values_list("name", flat=True)) == {
        "Recent", "Coming Back", "Available Soon"}
    assert Booking.objects.filter(volunteer=long_gone, status=Booking.Status.ATTENDED).count() == 1

    out = StringIO()
    call_command("purge_personal_data", "--older-than", "90", stdout=out, stderr=StringIO())
    assert "Anonymised 0 volunteer(s)" in out.getvalue()


def test_the_beat_task_uses_the_retention_setting_and_twice_is_once(settings):
    from volunteers.tasks import personal_data_purge as task

    settings.PERSONAL_DATA_RETENTION_DAYS = 30
    gone = volunteer_make(name="Gone")
    _past_attended(gone, ended_days_ago=40)
    kept = volunteer_make(name="Kept")
    _past_attended(kept, ended_days_ago=20)
    Volunteer.objects.update(updated_at=timezone.now() - timedelta(days=60))
    assert task.delay().get() == 1
    assert task.delay().get() == 0
    assert list(Volunteer.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == [gone.pk]
    assert personal_data_purge(dry_run=True) == 0


def test_the_purge_command_explains_itself():
    from volunteers.management.commands.purge_personal_data import Command

    help_text = Command().create_parser("manage.py", "purge_personal_data").format_help()
    assert "--older-than DAYS" in help_text and "--dry-run" in help_text and "PERSONAL_DATA_RETENTION_DAYS" in help_text
    with pytest.raises(Exception, match="0 or more"):
        call_command("purge_personal_data", "--older-than", "-1")


def _audit(action: str):
    return CoordinatorAction.objects.filter(kind="personal_data", params__action=action)


def test_a_coordinator_reading_someone_elses_roster_is_audited_the_host_is_not():
    volunteer = _priya()
    slot = slot_make()
    booking_make(slot=slot, volunteer=volunteer)
    host = slot.session.meeting_point.host
    for user in (host, UserFactory(username="coord", is_staff=True)):
        client = api_client_for(user)
        rows = client.get(f"/api/sessions/{slot.session_id}/bookings/").json()["results"]
        assert rows[0]["volunteer"]["phone"] == "+447700900321"  # both need it on the day
    (entry,) = _audit("roster_read")
    assert entry.actor.username == "coord" and entry.params["session"] == slot.session_id
    assert entry.result == {"volunteers": [volunteer.pk]}


def test_the_admin_masks_numbers_in_lists_and_audits_views_exports_and_erasures(client):
    volunteer = _priya()
    booking_make(slot=slot_make(), volunteer=volunteer)
    coordinator = UserFactory(username="coord", is_staff=True, is_superuser=True)
    client.force_login(coordinator)

    listing = client.get("/admin/volunteers/volunteer/").content.decode()
    assert "+447700900321" not in listing and "•••321" in listing
    assert "+447700900321" not in client.get("/admin/volunteers/booking/").content.decode()
    assert "+447700900321" not in client.get("/admin/sms/smsmessage/").content.decode()
    assert not _audit("viewed").exists()

    detail = client.get(f"/admin/volunteers/volunteer/{volunteer.pk}/change/").content.decode()
    assert "+447700900321" in detail
    assert _audit("viewed").get().result == {"volunteers": [volunteer.pk]}

    exported = client.post("/admin/volunteers/volunteer/", {"action": "export_personal_data",
                                                            "_selected_action": [volunteer.pk]})
    assert exported["Content-Type"] == "application/json"
    assert json.loads(exported.content)[0]["volunteer"]["phone"] == "+447700900321"
    assert _audit("exported").get().actor == coordinator

    client.post("/admin/volunteers/volunteer/", {"action": "erase_personal_data", "_selected_action": [volunteer.pk]})
    volunteer.refresh_from_db()
    assert volunteer.anonymised_at is not None and volunteer.name == ""
    assert _audit("erased").get().result == {"volunteers": [volunteer.pk]}
    # The audit log holds who and which volunteer, never the data itself.
    assert "+447700900321" not in json.dumps(list(CoordinatorAction.objects.values("params", "result")))


def test_opening_a_volunteers_text_email_or_webhook_delivery_in_the_admin_is_audited(client):
    from notify.email.models import EmailMessage
    from notify.webhooks.models import WebhookDelivery
    from tests.email.conftest import emailable

    WebhookEndpointFactory(url="https://crm.example.org/hooks", secret="whsec_" + "A" * 32)
    volunteer = emailable(name="Priya Shah", phone="+447700900321")
    booking_make(slot=slot_make(), volunteer=volunteer)
    text = SmsMessage.objects.get(volunteer=volunteer)
    email = EmailMessage.objects.get(volunteer=volunteer)
    delivery = WebhookDelivery.objects.get()
    client.force_login(UserFactory(username="coord", is_staff=True, is_superuser=True))

    pages = [(f"/admin/sms/smsmessage/{text.pk}/change/", {"where": "admin sms message", "message": text.pk}),
             (f"/admin/email/emailmessage/{email.pk}/change/", {"where": "admin email message", "message": email.pk}),
             (f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/",
              {"where": "admin webhook delivery", "delivery": delivery.pk})]
    for url, detail in pages:
        assert client.get(url).status_code == 200
        entry = _audit("viewed").latest("pk")
        assert entry.result == {"volunteers": [volunteer.pk]}
        assert {key: entry.params.get(key) for key in detail} == detail, url
    assert _audit("viewed").count() == 3

    host = text.booking.slot.session.meeting_point.host
    SmsMessage.objects.filter(pk=text.pk).update(volunteer=None, host=host)  # as a text to a host: nobody to audit
    assert client.get(f"/admin/sms/smsmessage/{text.pk}/change/").status_code == 200
    assert client.get("/admin/sms/smsmessage/99999999/change/").status_code == 302  # no such row
    assert _audit("viewed").count() == 3


def test_the_volunteer_page_downloads_and_deletes_through_the_same_service(client):
    volunteer = _priya()
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    link = booking.manage_token
    page = client.get(f"/b/{link}/data/").content.decode()
    assert f"/api/bookings/{link}/my-data/" in page and "Delete my details" in page
    response = client.post(f"/b/{link}/data/", {"confirm": "True"})
    assert response.status_code == 302
    volunteer.refresh_from_db()
    booking.refresh_from_db()
    assert volunteer.anonymised_at is not None and booking.status == Booking.Status.CANCELLED
    assert client.get(f"/b/{link}/data/").status_code == 404


def test_the_coordinators_sms_list_masks_numbers_and_is_audited():
    volunteer = _priya()
    booking_make(slot=slot_make(), volunteer=volunteer)
    client = api_client_for(UserFactory(username="coord", is_staff=True))
    rows = client.get("/api/sms/messages/").json()["results"]
    assert rows and all(row["to"] == "+44 7••• •••321" for row in rows)
    assert _audit("viewed").get().result == {"volunteers": [volunteer.pk]}
