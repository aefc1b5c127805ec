"""An email typed with a booking request (or a sign-up) is tied to the phone only once the requester has typed the
code texted to it: a hostile requester with a stranger's mobile and their own address, the stranger proving the
phone by the link, must not receive the stranger's bookings (their emails carry the private link and the address)."""

import pytest
from django.core import mail

from notify.email.backends import transport_reset
from notify.email.models import EmailMessage
from tests.api.conftest import booking_body
from tests.factories import SlotFactory, texted_code
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER, STRANGER_E164 = "07400 555777", "+447400555777"
HOSTILE = "mallory@example.org"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    transport_reset()
    mail.outbox = []
    yield mail.outbox
    transport_reset()


def _ask(api, slot, **body):
    response = api.post(f"/api/slots/{slot.id}/bookings/", booking_body(**body), format="json")
    assert response.status_code == 202, response.content
    return response.json()["challenge"]


def _prove_by_link(api, manage_token: str) -> dict:
    """The stranger opens the texted link in their browser and says the phone is theirs."""
    assert api.get(f"/api/bookings/{manage_token}/", HTTP_USER_AGENT=BROWSER).json()["proven"] is False
    response = api.post(f"/api/bookings/{manage_token}/prove/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response.json()


def _sent_to(outbox, address: str) -> list:
    return [email for email in outbox if address in email.to]


def test_a_hostile_email_with_a_strangers_phone_gets_nothing_when_the_stranger_proves_it_by_the_link(api, slot,
                                                                                                    outbox):
    token = _ask(api, slot, phone=STRANGER, name="Mallory", email=HOSTILE, consent_email=True)
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "" and not volunteer.consent_email  # not stored at request time
    booking = volunteer.bookings.get()
    proven = _prove_by_link(api, booking.manage_token)
    assert proven["proven"] is True
    volunteer.refresh_from_db()
    assert volunteer.email == "" and not volunteer.consent_email and volunteer.consent_email_at is None
    assert not EmailMessage.objects.filter(volunteer=volunteer).exists()
    # Later changes of the booking are not emailed to the hostile address either.
    assert api.post(f"/api/bookings/{booking.manage_token}/cancel/").status_code == 200
    assert not EmailMessage.objects.filter(volunteer=volunteer).exists()
    assert _sent_to(outbox, HOSTILE) == []
    assert texted_code(token)  # the code went to the stranger's phone only


def test_the_holder_of_the_link_gives_their_own_email_on_the_booking(api, slot, outbox):
    _ask(api, slot, phone=STRANGER, name="Mallory", email=HOSTILE, consent_email=True)
    booking = Volunteer.objects.get(phone=STRANGER_E164).bookings.get()
    _prove_by_link(api, booking.manage_token)
    response = api.post(f"/api/bookings/{booking.manage_token}/details/",
                        {"email": "stranger@example.org", "consent_email": True}, format="json")
    assert response.status_code == 200
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "stranger@example.org" and volunteer.consent_email


def test_the_requester_who_types_the_code_keeps_their_email_and_gets_the_confirmation(api, slot, outbox):
    token = _ask(api, slot, phone=STRANGER, name="Sam Honest", email="sam@example.org", consent_email=True)
    assert Volunteer.objects.get(phone=STRANGER_E164).email == ""
    response = api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert response.status_code == 200 and response.json()["address"]
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "sam@example.org" and volunteer.consent_email
    assert volunteer.consent_email_at is not None and volunteer.consent_email_version
    [message] = EmailMessage.objects.filter(volunteer=volunteer)
    assert message.kind == "booking_confirmed" and message.status == "sent"
    [email] = _sent_to(outbox, "sam@example.org")
    assert f"/b/{response.json()['manage_token']}" in email.body
    # The answer was lost and the code sent again: the same answer, and no second email (nor host notice).
    sent, written = len(outbox), EmailMessage.objects.count()
    again = api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert again.status_code == 200 and again.json() == response.json()
    assert (len(outbox), EmailMessage.objects.count()) == (sent, written)


def test_an_email_without_the_email_box_is_kept_once_the_code_is_typed_and_nothing_is_sent(api, slot, outbox):
    token = _ask(api, slot, phone=STRANGER, email="sam@example.org")
    assert api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)},
                    format="json").status_code == 200
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "sam@example.org" and not volunteer.consent_email
    assert _sent_to(outbox, "sam@example.org") == []


def test_a_hostile_sign_up_with_a_strangers_phone_leaves_no_email_for_their_later_bookings(api, slot, outbox):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() + timedelta(days=2)
    response = api.post("/api/volunteers/", {
        "name": "Mallory", "mobile": STRANGER, "postcode": "S10 1AA", "max_travel_km": 50, "email": HOSTILE,
        "consent_email": True,
        "availability": [{"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat()}],
    }, format="json")
    assert response.status_code == 202, response.content
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "" and not volunteer.consent_email
    # The stranger books for themselves (no email given) and proves the phone by the link.
    _ask(api, SlotFactory(session=slot.session, starts_at=slot.starts_at, ends_at=slot.ends_at), phone=STRANGER,
         name="Stella Stranger")
    for booking in volunteer.bookings.all():
        _prove_by_link(api, booking.manage_token)
    volunteer.refresh_from_db()
    assert volunteer.email == "" and _sent_to(outbox, HOSTILE) == []
    assert not EmailMessage.objects.filter(volunteer=volunteer).exists()


def test_a_sign_up_whose_code_is_typed_keeps_its_email(api, outbox, slot):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() + timedelta(days=2)
    response = api.post("/api/volunteers/", {
        "name": "Sam Honest", "mobile": STRANGER, "postcode": "S10 1AA", "max_travel_km": 50,
        "email": "sam@example.org", "consent_email": True,
        "availability": [{"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat()}],
    }, format="json")
    token = response.json()["challenge"]
    assert api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)},
                    format="json").status_code == 200
    volunteer = Volunteer.objects.get(phone=STRANGER_E164)
    assert volunteer.email == "sam@example.org" and volunteer.consent_email


def _general_path_only(monkeypatch, path: str) -> None:
    if path == "general":
        from volunteers import code_check

        monkeypatch.setattr(code_check, "fits", lambda challenge: False)


def _verify(api, token: str):
    response = api.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _confirmations(booking_id: int) -> list:
    return list(EmailMessage.objects.filter(booking_id=booking_id, volunteer__isnull=False)
                .values_list("kind", "status"))


@pytest.mark.parametrize("path", ["fast", "general"])
def test_the_link_pressed_first_then_the_code_typed_sends_the_confirmation_once(api, slot, outbox, monkeypatch,
                                                                                path):
    _general_path_only(monkeypatch, path)
    token = _ask(api, slot, phone=STRANGER, name="Sam Honest", email="sam@example.org", consent_email=True)
    booking = Volunteer.objects.get(phone=STRANGER_E164).bookings.get()
    _prove_by_link(api, booking.manage_token)
    assert _confirmations(booking.pk) == [] and _sent_to(outbox, "sam@example.org") == []
    host_notices = EmailMessage.objects.filter(host__isnull=False).count()
    answer = _verify(api, token)
    assert answer["proven"] is True
    # The code ties the address to the phone: the confirmation that waited for it goes now.
    assert _confirmations(booking.pk) == [("booking_confirmed", "sent")]
    [email] = _sent_to(outbox, "sam@example.org")
    assert f"/b/{booking.manage_token}" in email.body
    # The answer was lost and the code typed again, and the button pressed again: nothing more is sent, and the
    # host, told when the link proved the booking, is not told twice.
    assert _verify(api, token) == answer
    _prove_by_link_again = api.post(f"/api/bookings/{booking.manage_token}/prove/", HTTP_USER_AGENT=BROWSER)
    assert _prove_by_link_again.status_code == 200
    assert _confirmations(booking.pk) == [("booking_confirmed", "sent")]
    assert len(_sent_to(outbox, "sam@example.org")) == 1
    assert EmailMessage.objects.filter(host__isnull=False).count() == host_notices


@pytest.mark.parametrize("path", ["fast", "general"])
def test_the_code_typed_first_then_the_link_pressed_sends_the_confirmation_once(api, slot, outbox, monkeypatch,
                                                                                path):
    _general_path_only(monkeypatch, path)
    token = _ask(api, slot, phone=STRANGER, name="Sam Honest", email="sam@example.org", consent_email=True)
    booking = Volunteer.objects.get(phone=STRANGER_E164).bookings.get()
    _verify(api, token)
    assert _confirmations(booking.pk) == [("booking_confirmed", "sent")]
    written = EmailMessage.objects.count()
    response = api.post(f"/api/bookings/{booking.manage_token}/prove/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200 and response.json()["proven"] is True
    assert EmailMessage.objects.count() == written and len(_sent_to(outbox, "sam@example.org")) == 1


def test_a_booking_already_confirmed_by_email_is_not_confirmed_again_when_its_code_is_typed(api, slot, outbox):
    # A known phone with an address: the link's proof emails the confirmation (the address was proven before);
    # typing the code afterwards applies the request's details and sends no second one.
    first = _ask(api, slot, phone=STRANGER, name="Sam Honest", email="sam@example.org", consent_email=True)
    _verify(api, first)
    other = SlotFactory(session=slot.session, starts_at=slot.ends_at, ends_at=slot.ends_at + (slot.ends_at
                                                                                             - slot.starts_at))
    token = _ask(api, other, phone=STRANGER, name="Sam Honest", email="sam@example.org", consent_email=True)
    booking = Volunteer.objects.get(phone=STRANGER_E164).bookings.get(slot=other)
    _prove_by_link(api, booking.manage_token)
    assert _confirmations(booking.pk) == [("booking_confirmed", "sent")]
    _verify(api, token)
    assert _confirmations(booking.pk) == [("booking_confirmed", "sent")]
    assert len(_sent_to(outbox, "sam@example.org")) == 2  # one per booking


@pytest.mark.parametrize("path", ["fast", "general"])
def test_the_link_pressed_first_then_the_code_typed_without_the_email_box_sends_nothing(api, slot, outbox,
                                                                                      monkeypatch, path):
    _general_path_only(monkeypatch, path)
    token = _ask(api, slot, phone=STRANGER, email="sam@example.org")
    booking = Volunteer.objects.get(phone=STRANGER_E164).bookings.get()
    _prove_by_link(api, booking.manage_token)
    _verify(api, token)
    assert Volunteer.objects.get(phone=STRANGER_E164).email == "sam@example.org"
    assert _confirmations(booking.pk) == [] and _sent_to(outbox, "sam@example.org") == []
