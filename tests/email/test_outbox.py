"""The email outbox on the embedded path (eager Celery, Django's locmem backend): what is written with a booking
change, what is sent, to whom, and what is not."""

from datetime import timedelta

import pytest
from django.test import Client

from notify.email import services
from notify.email.models import EmailMessage
from notify.email.services.unsubscribe import volunteer_token
from tests.email.conftest import booking_make, emailable, held, slot_make, volunteer_make
from tests.factories import EmailMessageFactory, PostcodeFactory, booking_ask, next_mobile
from volunteers.identity import booking_prove_by_link
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_booking_emails_its_confirmation_with_text_html_link_and_unsubscribe_headers(mail_outbox):
    volunteer = emailable()
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    message = EmailMessage.objects.get(booking=booking, volunteer=volunteer)
    assert message.kind == "booking_confirmed" and message.status == "sent" and message.to == volunteer.email
    [email] = mail_outbox
    assert email.to == [volunteer.email]
    assert email.extra_headers["Message-ID"] == message.message_id
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and volunteer_token(volunteer.pk) in unsubscribe
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = f"/b/{booking.manage_token}"
    assert link in email.body and "27 Psalter Lane" in email.body and "Aisha" in email.body
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html" and link in html and "27 Psalter Lane" in html


def test_no_email_without_an_address_or_without_the_email_consent(mail_outbox):
    booking_make(slot=slot_make(), volunteer=volunteer_make(email="no-consent@example.org"))
    booking_make(slot=slot_make(), volunteer=volunteer_make())
    assert not EmailMessage.objects.filter(volunteer__isnull=False).exists() and not mail_outbox


def test_an_opted_out_volunteer_gets_nothing_even_what_was_already_queued(mail_outbox):
    volunteer = emailable()
    with held():
        booking = booking_make(slot=slot_make(), volunteer=volunteer)
    message = EmailMessage.objects.get(booking=booking, volunteer=volunteer)
    assert message.status == "pending"
    services.email_unsubscribe(token=volunteer_token(volunteer.pk))
    assert services.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert message.skip_reason == "opted_out" and not mail_outbox
    booking_cancel(manage_token=booking.manage_token)  # and nothing new is written for them
    assert not EmailMessage.objects.filter(volunteer=volunteer, kind="booking_cancelled").exists()
    assert not mail_outbox


def test_an_email_about_an_older_state_is_skipped(mail_outbox):
    volunteer = emailable()
    with held():
        booking = booking_make(slot=slot_make(), volunteer=volunteer)
        booking_cancel(manage_token=booking.manage_token)
    confirmed = EmailMessage.objects.get(booking=booking, volunteer=volunteer, kind="booking_confirmed")
    cancelled = EmailMessage.objects.get(booking=booking, volunteer=volunteer, kind="booking_cancelled")
    assert services.message_send(message_id=cancelled.pk) == "sent"
    assert services.message_send(message_id=confirmed.pk) == "skipped"
    confirmed.refresh_from_db()
    assert confirmed.skip_reason == "booking_changed"
    [email] = mail_outbox
    assert "cancelled" in email.subject and "27 Psalter Lane" not in email.body


def test_a_booking_request_emails_only_once_its_code_is_typed(mail_outbox):
    from tests.factories import texted_code
    from volunteers.identity import booking_request, challenge_verify

    slot = slot_make()
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    challenge = booking_ask(slot_id=slot.pk, name="Jo Bloggs", phone=next_mobile(), postcode=postcode,
                            email="jo@example.org")
    challenge_verify(challenge_token=challenge.token, code=texted_code(challenge.token), client_ip="192.0.2.8")
    # The consent box was not ticked: the address is kept, nothing is emailed.
    jo = Volunteer.objects.get(pk=challenge.volunteer_id)
    assert jo.email == "jo@example.org" and not jo.consent_email and not mail_outbox

    challenge = booking_request(slot_id=slot_make().pk, name="Sam Smith", phone=next_mobile(), postcode=postcode,
                                email="sam@example.org", consent_sms=True, consent_email=True, client_ip="192.0.2.9")
    booking = Booking.objects.select_related("volunteer").get(pk=challenge.booking_id)
    # Somebody else's phone, maybe: the address waits for the code, which only the phone's holder can type.
    assert booking.volunteer.email == "" and not booking.volunteer.consent_email
    assert not EmailMessage.objects.filter(volunteer=booking.volunteer).exists()
    challenge_verify(challenge_token=challenge.token, code=texted_code(challenge.token), client_ip="192.0.2.9")
    booking.volunteer.refresh_from_db()
    assert booking.volunteer.consent_email and booking.volunteer.consent_email_version == "2026-12-email-1"
    [message] = EmailMessage.objects.filter(volunteer=booking.volunteer)
    assert message.kind == "booking_confirmed" and message.status == "sent"
    [email] = mail_outbox
    assert email.to == ["sam@example.org"] and f"/b/{booking.manage_token}" in email.body


def test_a_booking_request_proven_by_the_link_alone_emails_nobody(mail_outbox):
    from volunteers.identity import booking_request

    slot = slot_make()
    challenge = booking_request(slot_id=slot.pk, name="Mallory", phone=next_mobile(),
                                postcode=PostcodeFactory(seat=slot.session.seat).postcode,
                                email="mallory@example.org", consent_sms=True, consent_email=True,
                                client_ip="192.0.2.10")
    booking = Booking.objects.get(pk=challenge.booking_id)
    booking_prove_by_link(manage_token=booking.manage_token)
    booking_prove_by_link(manage_token=booking.manage_token)
    assert Volunteer.objects.get(pk=booking.volunteer_id).email == ""
    assert not EmailMessage.objects.filter(volunteer_id=booking.volunteer_id).exists() and not mail_outbox


def test_the_address_is_not_emailed_while_the_host_has_to_approve(mail_outbox):
    slot = slot_make()
    slot.session.requires_approval = True
    slot.session.save(update_fields=["requires_approval"])
    booking = booking_make(slot=slot, volunteer=emailable())
    assert booking.approval == "pending"
    [email] = mail_outbox
    assert "27 Psalter Lane" not in email.body and "Aisha" not in email.body and "host confirms" in email.body
    assert "27 Psalter Lane" not in email.alternatives[0][0]


def test_one_click_unsubscribe_by_post_and_a_get_that_changes_nothing(mail_outbox):
    volunteer = emailable()
    client = Client(enforce_csrf_checks=True)
    url = f"/email/unsubscribe/{volunteer_token(volunteer.pk)}/"
    page = client.get(url)
    assert page.status_code == 200 and b"<button" in page.content
    volunteer.refresh_from_db()
    assert volunteer.email_opted_out_at is None  # a link scanner's GET unsubscribes nobody
    response = client.post(url, {"List-Unsubscribe": "One-Click"})  # RFC 8058: no cookie, no CSRF token
    assert response.status_code == 200
    volunteer.refresh_from_db()
    assert volunteer.email_opted_out_at is not None
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    booking_make(slot=slot_make(), volunteer=volunteer)
    assert not mail_outbox


@pytest.mark.parametrize("token", ["v1", "v1.forged", "h999.abc", "x" * 300, ""])
def test_a_forged_unsubscribe_link_is_a_404_and_changes_nothing(token):
    volunteer = emailable()
    response = Client().post(f"/email/unsubscribe/{token}/" if token else "/email/unsubscribe/x/")
    assert response.status_code == 404
    volunteer.refresh_from_db()
    assert volunteer.email_opted_out_at is None


def test_ticking_the_box_again_lifts_an_unsubscribe(mail_outbox):
    from volunteers.identity import booking_details_update

    volunteer = emailable()
    booking = booking_make(slot=slot_make(), volunteer=volunteer)
    services.email_unsubscribe(token=volunteer_token(volunteer.pk))
    booking_details_update(manage_token=booking.manage_token, consent_email=True)
    volunteer.refresh_from_db()
    assert volunteer.email_opted_out_at is None and volunteer.consent_email


def test_erasing_a_volunteer_blanks_and_stops_their_emails(mail_outbox):
    from volunteers.privacy import volunteer_personal_data_erase

    volunteer = emailable()
    with held():
        booking_make(slot=slot_make(), volunteer=volunteer)
    volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    # The confirmation that waited, and the cancellation the erasure itself wrote: neither goes.
    rows = list(EmailMessage.objects.filter(volunteer=volunteer).values_list("kind", "status", "skip_reason", "to"))
    assert sorted(rows) == [("booking_cancelled", "skipped", "personal_data_erased", ""),
                            ("booking_confirmed", "skipped", "personal_data_erased", "")]
    services.messages_requeue_stuck(grace=timedelta(0))
    assert not mail_outbox


def _calendar(email) -> str:
    [part] = [a for a in email.attachments if getattr(a, "get_content_type", lambda: "")() == "text/calendar"]
    return part.get_param("method"), part.get_payload(decode=True).decode()


def test_the_calendar_file_is_an_invitation_then_its_cancellation_with_the_same_uid(mail_outbox):
    booking = booking_make(slot=slot_make(), volunteer=emailable())
    booking_cancel(manage_token=booking.manage_token)
    confirmed, cancelled = mail_outbox
    method, ics = _calendar(confirmed)
    assert method == "REQUEST" and "METHOD:REQUEST" in ics and "27 Psalter Lane" in ics.replace("\r\n ", "")
    uid = next(line for line in ics.splitlines() if line.startswith("UID:"))
    method, ics = _calendar(cancelled)
    assert method == "CANCEL" and "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics and uid in ics.splitlines()
    assert "27 Psalter Lane" not in ics.replace("\r\n ", "")


def test_the_calendar_file_has_no_address_while_the_host_has_to_approve(mail_outbox):
    slot = slot_make()
    slot.session.requires_approval = True
    slot.session.save(update_fields=["requires_approval"])
    booking_make(slot=slot, volunteer=emailable())
    [email] = mail_outbox
    method, ics = _calendar(email)
    assert method == "REQUEST" and "Psalter" not in ics.replace("\r\n ", "")


@pytest.mark.parametrize("known_phone", [False, True])
def test_typing_the_code_sends_the_confirmation_once(mail_outbox, known_phone):
    import re

    from notify.sms.models import SmsMessage
    from volunteers.identity import booking_request, challenge_verify

    slot = slot_make()
    postcode = PostcodeFactory(seat=slot.session.seat).postcode
    phone = next_mobile()
    if known_phone:  # what they say waits for the proof (the general path); a new phone takes the one statement
        volunteer_make(phone=phone, name="Old Name")
    challenge = booking_request(slot_id=slot.pk, name="Sam Smith", phone=phone, postcode=postcode,
                                email="sam@example.org", consent_sms=True, consent_email=True, client_ip="192.0.2.9")
    assert not mail_outbox
    code = re.search(r"\b(\d{6})\b", SmsMessage.objects.get(challenge_id=challenge.pk).body).group(1)
    booking = challenge_verify(challenge_token=challenge.token, code=code, client_ip="192.0.2.9")
    [message] = EmailMessage.objects.filter(volunteer_id=booking.volunteer_id)
    assert message.kind == "booking_confirmed" and message.status == "sent"
    [email] = mail_outbox
    assert email.to == ["sam@example.org"] and "Sam" in email.body


def test_a_redirect_email_is_about_the_booking_it_points_to(mail_outbox):
    volunteer = emailable()
    old = booking_make(slot=slot_make(title="Full session in Hallam"), volunteer=volunteer)
    new = booking_make(slot=slot_make(title="Session nearby in Heeley", starts_in=timedelta(days=5)),
                       volunteer=volunteer)
    mail_outbox.clear()
    Booking.objects.filter(pk=old.pk).update(status="redirected", redirected_to=new, version=old.version + 1)
    with held():
        message = EmailMessageFactory(volunteer=volunteer, booking=old, kind="booking_redirected",
                                      version=old.version + 1)
    assert services.message_send(message_id=message.pk) == "sent"
    [email] = mail_outbox
    assert "Heeley" in email.subject and "Instead of Full session in Hallam" in email.body
    assert f"/b/{new.manage_token}" in email.body and f"/b/{old.manage_token}" not in email.body
