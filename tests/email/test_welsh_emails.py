"""Emails in the language the volunteer booked in, and hosts' emails in the host's: rendered by the Celery task
that sends them, outside any request (docs/languages.md)."""

import pytest
from django.utils import translation

from notify.email.models import EmailMessage
from notify.email.tasks import messages_send_batch
from sessions.hosts import host_language_set
from tests.email.conftest import booking_make, emailable, held, slot_make
from tests.factories import HostStandingFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_send_task_emails_a_welsh_booking_in_welsh_and_an_english_one_in_english(mail_outbox):
    slot = slot_make()
    with held():  # written in the "request", sent later by the task
        with translation.override("cy"):
            welsh = booking_make(slot=slot, volunteer=emailable())
        english = booking_make(slot=slot, volunteer=emailable())
    ids = list(EmailMessage.objects.filter(booking__in=[welsh, english]).values_list("pk", flat=True))
    assert translation.get_language() == "en-gb"
    messages_send_batch.apply(args=[ids])  # as a worker runs it
    by_to = {email.to[0]: email for email in mail_outbox}
    cy, en = by_to[welsh.volunteer.email], by_to[english.volunteer.email]
    assert cy.subject.startswith("Mae eich lle wedi'i gadw:") and en.subject.startswith("Your place is booked:")
    assert "Helo " in cy.body and "Pryd:" in cy.body and "Cadwch y ddolen hon i chi'ch hun" in cy.body
    [(html, _)] = cy.alternatives
    assert '<html lang="cy">' in html and "Atal yr e-byst hyn" in html
    assert "Hi " in en.body and "When:" in en.body
    assert translation.get_language() == "en-gb"


def test_a_hosts_booking_email_follows_the_hosts_language(mail_outbox):
    slot = slot_make()
    host = slot.session.meeting_point.host
    host.email = "aisha@example.org"
    host.save(update_fields=["email"])
    HostStandingFactory(host=host, email_verified=host.email)
    host_language_set(host=host, language="cy")  # as the language switch does for a signed-in host
    with translation.override("en-gb"):  # the volunteer books in English
        booking_make(slot=slot, volunteer=emailable())
    [notice] = [email for email in mail_outbox if email.to == [host.email]]
    assert "wedi archebu" in notice.subject and "Pwy sy'n dod" in notice.body
