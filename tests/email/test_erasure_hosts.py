"""Erasing a volunteer (on request, or by the retention purge) leaves no trace of their name in what was written
to hosts about them: the emails' subjects ("Jo B. booked: ..."), the texts and the webhook deliveries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notify.email.models import EmailMessage
from notify.sms.models import SmsMessage
from notify.webhooks.models import WebhookDelivery
from sessions.models import Slot
from tests.email.conftest import booking_make, held, slot_make, volunteer_make
from tests.factories import HostStandingFactory, WebhookEndpointFactory
from volunteers.models import Volunteer
from volunteers.privacy import personal_data_purge, volunteer_personal_data_erase

pytestmark = pytest.mark.django_db(transaction=True)


def _hosted_slot():
    slot = slot_make()
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.save(update_fields=["email"])
    HostStandingFactory(host=host, email_verified=host.email)  # proven address
    return slot, host


def _traces(name_parts: tuple[str, ...]) -> list:
    rows = [*EmailMessage.objects.values_list("subject", "to"),
            *SmsMessage.objects.values_list("body", "to"),
            *WebhookDelivery.objects.values_list("body", "response_body")]
    return [row for row in rows if any(part in " ".join(map(str, row)) for part in name_parts)]


def test_erasure_blanks_the_subjects_of_the_hosts_emails_about_the_volunteer(mail_outbox):
    WebhookEndpointFactory(url="https://crm.example.org/hooks", secret="whsec_" + "A" * 32,
                           include_personal_data=True)
    slot, host = _hosted_slot()
    volunteer = volunteer_make(name="Jo Bloggs")
    booking_make(slot=slot, volunteer=volunteer)
    assert "Jo B." in EmailMessage.objects.get(host=host, kind="host_booked").subject
    assert _traces(("Jo B.", "Bloggs"))
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    assert _traces(("Jo B.", "Jo Bloggs", "Bloggs")) == []
    # The host's own address stays: the rows are the host's, only what they said of the volunteer goes.
    assert set(EmailMessage.objects.filter(host=host, status="sent").values_list("to", flat=True)) == {
        "aisha@example.org"}


def test_a_host_notice_still_waiting_is_never_sent_once_the_volunteer_is_erased(mail_outbox):
    slot, host = _hosted_slot()
    volunteer = volunteer_make(name="Jo Bloggs")
    with held():
        booking_make(slot=slot, volunteer=volunteer)
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    rows = list(EmailMessage.objects.filter(host=host).values_list("kind", "status", "skip_reason", "subject"))
    assert rows and all(status == "skipped" and reason == "personal_data_erased" and subject == ""
                        for _, status, reason, subject in rows)
    assert not [m for m in mail_outbox if m.to == ["aisha@example.org"]]


def test_the_retention_purge_blanks_them_too(mail_outbox):
    slot, host = _hosted_slot()
    volunteer = volunteer_make(name="Jo Bloggs")
    booking_make(slot=slot, volunteer=volunteer)
    assert "Jo B." in EmailMessage.objects.get(host=host, kind="host_booked").subject
    past = timezone.now() - timedelta(days=400)
    Slot.objects.filter(pk=slot.pk).update(starts_at=past, ends_at=past + timedelta(hours=2))
    Volunteer.objects.filter(pk=volunteer.pk).update(updated_at=past)
    assert personal_data_purge(older_than_days=30) == 1
    assert _traces(("Jo B.", "Bloggs")) == []
