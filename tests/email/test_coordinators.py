"""The coordinators' email failures page: failed and assumed emails, addresses masked, staff only."""

import pytest

from notify.email.models import EmailMessage
from tests.email.conftest import booking_make, emailable, held, slot_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_see_failed_and_assumed_emails_with_masked_addresses(client):
    volunteer = emailable(email="jo.bloggs@example.org")
    with held():
        booking = booking_make(slot=slot_make(), volunteer=volunteer)
    failed = EmailMessage.objects.get(booking=booking, volunteer=volunteer)
    EmailMessage.objects.filter(pk=failed.pk).update(status="failed", to=volunteer.email, error_code=550,
                                                     error_message="RCPT TO: 550 5.1.1 No such mailbox", attempts=1)
    other = booking_make(slot=slot_make(), volunteer=emailable())
    sent = EmailMessage.objects.get(booking=other, volunteer__isnull=False)
    assert sent.status == "sent"
    assert client.get("/coordinate/email/").status_code == 302  # signed-in staff only
    host = UserFactory(username="nosy-host", email="", standing=False)
    client.force_login(host)
    assert client.get("/coordinate/email/").status_code in (302, 403, 404)
    staff = UserFactory(username="coord", is_staff=True, email="", standing=False)
    client.force_login(staff)
    page = client.get("/coordinate/email/").content.decode()
    assert "No such mailbox" in page and "550" in page and "j•••@example.org" in page and "Page 1 of 1" in page
    assert "jo.bloggs@example.org" not in page and sent.to not in page
    assert client.get("/coordinate/email/?page=abc").status_code == 200
