"""A host's own mobile is proven by a code texted to it before any host text about bookings goes there: a host
naming a stranger's number gets Frontroom to text that stranger one code (which says nothing the host typed),
limited per host and per number, and never a text about bookings."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput, InvalidState, RateLimited
from notify.host_notifications import host_notifications_get, host_notifications_set
from notify.sms import services
from notify.sms.models import HostMobileProof, HostSmsPreference, SmsMessage
from notify.sms.serializers import body_redacted
from notify.sms.services import host_mobile_code_resend, host_mobile_verify
from tests.factories import BookingFactory, next_mobile
from tests.sms.factories import booking_make, host_code_texted, host_mobile_prove, slot_make, volunteer_make
from volunteers.events import booking_events_record_bulk
from volunteers.models import Booking, BookingEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("daytime")]

IP = "203.0.113.7"


def _host_slot(*, mobile: str | None = None, title: str = "Saturday doorstep session, Crookes and Walkley"):
    slot = slot_make(title=title, host_first_name="Mallory")
    host = slot.session.meeting_point.host
    mobile = mobile or next_mobile()
    host_notifications_set(host=host, each="text", digest=False, mobile=mobile)
    return slot, host, HostSmsPreference.objects.get(host=host).mobile


def _codes(host):
    return list(SmsMessage.objects.filter(host=host, kind="host_code").order_by("id"))


def _booking_texts(host):
    return list(SmsMessage.objects.filter(host=host).exclude(kind="host_code").order_by("id"))


def test_an_unproven_mobile_is_texted_a_code_and_no_booking_text(daytime):
    slot, host, mobile = _host_slot()
    [code] = _codes(host)
    assert (code.to, code.status, code.version, code.booking_id) == (mobile, "queued", 1, None)
    booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    [text] = _booking_texts(host)
    assert (text.kind, text.status, text.skip_reason) == ("host_booked", "skipped", "mobile_unproven")
    assert [sent["body"][:14] for sent in daytime if sent["to"] == mobile] == ["Frontroom code"]
    current = host_notifications_get(host=host)
    assert (current.mobile_proven, current.code_sent) == (False, True)


def test_the_code_text_says_nothing_the_host_typed_and_is_masked_for_staff(daytime):
    slot, host, mobile = _host_slot(title="Call 0800 SCAM now")
    host.first_name, host.email = "Win a prize", "prize@example.org"
    [code] = _codes(host)
    for typed in ("Mallory", "SCAM", "prize", host.username, slot.session.title):
        assert typed not in code.body
    digits = host_code_texted(host)
    assert digits in code.body and digits not in body_redacted(code) and code.segments == 1


def test_proof_then_booking_texts_flow(daytime):
    slot, host, mobile = _host_slot()
    host_mobile_prove(host)
    assert HostSmsPreference.objects.get(host=host).mobile_proven_at is not None
    assert host_notifications_get(host=host).mobile_proven
    booking_make(slot=slot, volunteer=volunteer_make(name="Jo Bloggs"))
    [text] = _booking_texts(host)
    assert text.status == "queued" and text.body.startswith("Frontroom: Jo booked")
    assert [sent["body"][:14] for sent in daytime if sent["to"] == mobile] == ["Frontroom code", "Frontroom: Jo "]


def test_a_wrong_code_counts_a_try_and_too_many_lock_the_code(settings):
    slot, host, _ = _host_slot()
    right = host_code_texted(host)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    with pytest.raises(InvalidInput) as raised:
        host_mobile_verify(host=host, code=wrong, client_ip=IP)
    assert raised.value.code == "code_wrong" and "4 tries left" in raised.value.fields["code"][0]
    assert HostMobileProof.objects.get(host=host).attempts == 1
    for _ in range(settings.PHONE_CODE_MAX_ATTEMPTS - 1):
        with pytest.raises(InvalidInput):
            host_mobile_verify(host=host, code=wrong, client_ip=IP)
    with pytest.raises(InvalidInput) as raised:
        host_mobile_verify(host=host, code=right, client_ip=IP)  # the right code, too late
    assert raised.value.code == "code_attempts"
    assert HostSmsPreference.objects.get(host=host).mobile_proven_at is None


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_a_code_that_is_not_six_digits_is_refused_without_a_try(bad):
    slot, host, _ = _host_slot()
    with pytest.raises(InvalidInput) as raised:
        host_mobile_verify(host=host, code=bad, client_ip=IP)
    assert raised.value.code == "invalid_code" and HostMobileProof.objects.get(host=host).attempts == 0


def test_an_expired_code_is_refused():
    slot, host, _ = _host_slot()
    HostMobileProof.objects.filter(host=host).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInput) as raised:
        host_mobile_verify(host=host, code=host_code_texted(host), client_ip=IP)
    assert raised.value.code == "code_expired"
    assert HostSmsPreference.objects.get(host=host).mobile_proven_at is None


def test_a_new_code_stops_the_old_one_and_its_unsent_text(daytime, monkeypatch):
    slot, host, mobile = _host_slot()
    old = host_code_texted(host)
    monkeypatch.setattr("notify.sms.services.outbox.message_enqueue", lambda *args, **kwargs: None)
    host_mobile_code_resend(host=host, client_ip=IP)
    proof = HostMobileProof.objects.get(host=host)
    assert (proof.sends, proof.attempts) == (2, 0)
    new = host_code_texted(host)
    if new != old:  # one in a million draws the same code again
        with pytest.raises(InvalidInput):
            host_mobile_verify(host=host, code=old, client_ip=IP)
    # A resend written before an older one was sent: the older one is superseded at its send.
    host_mobile_code_resend(host=host, client_ip=IP)
    second, third = _codes(host)[1:]
    assert services.message_send(message_id=second.pk) == "skipped"
    second.refresh_from_db()
    assert second.skip_reason == "code_superseded"
    assert services.message_send(message_id=third.pk) == "sent"


def test_a_code_proves_once_and_a_new_mobile_needs_its_own(daytime):
    slot, host, first = _host_slot()
    code = host_code_texted(host)
    host_mobile_verify(host=host, code=code, client_ip=IP)
    host_mobile_verify(host=host, code=code, client_ip=IP)  # a repeat (a lost answer): still proven, nothing more
    assert HostMobileProof.objects.get(host=host).attempts == 1
    second = next_mobile()
    host_notifications_set(host=host, each="text", digest=False, mobile=second)
    preference = HostSmsPreference.objects.get(host=host)
    assert (preference.mobile, preference.mobile_proven_at) == (second, None)  # unproven again
    with pytest.raises(InvalidInput) as raised:
        host_mobile_verify(host=host, code=code, client_ip=IP)  # the first mobile's code, used already
    assert raised.value.code in ("code_wrong", "code_used")
    assert [c.to for c in _codes(host)] == [first, second]
    booking_make(slot=slot)
    assert _booking_texts(host)[-1].skip_reason == "mobile_unproven"
    host_mobile_prove(host)
    booking_make(slot=slot)
    assert (_booking_texts(host)[-1].status, _booking_texts(host)[-1].to) == ("queued", second)


def test_saving_the_same_choice_again_texts_no_second_code():
    slot, host, mobile = _host_slot()
    host_notifications_set(host=host, each="both", digest=False, email="a@example.org", mobile=mobile)
    host_notifications_set(host=host, each="text", digest=False, mobile=mobile)
    assert len(_codes(host)) == 1


def test_a_mobile_saved_without_texts_is_texted_no_code_until_texts_are_chosen():
    slot = slot_make()
    host = slot.session.meeting_point.host
    mobile = next_mobile()
    host_notifications_set(host=host, each="email", digest=False, email="a@example.org", mobile=mobile)
    assert _codes(host) == []
    host_notifications_set(host=host, each="text", digest=False, mobile=mobile)
    assert [c.to for c in _codes(host)] == [mobile]


def test_a_host_naming_number_after_number_is_limited_and_saves_nothing_past_it(settings, ratelimit_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "host_code_send": "3/h"}
    slot, host, _ = _host_slot()
    for _ in range(2):
        host_notifications_set(host=host, each="text", digest=False, mobile=next_mobile())
    saved = HostSmsPreference.objects.get(host=host).mobile
    with pytest.raises(RateLimited):
        host_notifications_set(host=host, each="text", digest=False, mobile=next_mobile())
    assert HostSmsPreference.objects.get(host=host).mobile == saved  # rolled back with the refused code
    assert len(_codes(host)) == 3


def test_codes_to_one_number_share_the_volunteers_per_number_limits(settings, ratelimit_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "code_send_phone": "2/h"}
    slot, host, mobile = _host_slot()
    host_mobile_code_resend(host=host, client_ip=IP)
    with pytest.raises(RateLimited):
        host_mobile_code_resend(host=host, client_ip=IP)
    # Another host naming the same number is held by the same per-number count.
    other = slot_make().session.meeting_point.host
    with pytest.raises(RateLimited):
        host_notifications_set(host=other, each="text", digest=False, mobile=mobile)
    assert len(_codes(host)) == 2 and _codes(other) == []


def test_tries_are_limited_per_number(settings, ratelimit_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "code_check_phone": "2/h"}
    slot, host, _ = _host_slot()
    for _ in range(2):
        with pytest.raises(InvalidInput):
            host_mobile_verify(host=host, code="000000" if host_code_texted(host) != "000000" else "111111",
                               client_ip=IP)
    with pytest.raises(RateLimited):
        host_mobile_verify(host=host, code=host_code_texted(host), client_ip=IP)


def test_a_new_code_needs_a_saved_unproven_mobile():
    slot = slot_make()
    host = slot.session.meeting_point.host
    with pytest.raises(InvalidState):
        host_mobile_code_resend(host=host, client_ip=IP)
    with pytest.raises(InvalidState) as raised:
        host_mobile_verify(host=host, code="123456", client_ip=IP)
    assert raised.value.code == "no_code"
    host_notifications_set(host=host, each="text", digest=False, mobile=next_mobile())
    host_mobile_prove(host)
    with pytest.raises(InvalidState) as raised:
        host_mobile_code_resend(host=host, client_ip=IP)
    assert raised.value.code == "mobile_proven"


def test_a_number_that_replied_stop_gets_no_code(daytime):
    slot, host, mobile = _host_slot()
    HostSmsPreference.objects.filter(host=host).update(sms_opted_out=True)
    host_mobile_code_resend(host=host, client_ip=IP)
    assert (_codes(host)[-1].status, _codes(host)[-1].skip_reason) == ("skipped", "opted_out")


def test_a_pending_text_is_not_sent_if_the_mobile_lost_its_proof(daytime, monkeypatch):
    monkeypatch.setattr("notify.sms.services.outbox.messages_enqueue_batches", lambda ids: None)
    slot, host, mobile = _host_slot()
    host_mobile_prove(host)
    booking_make(slot=slot)
    [text] = _booking_texts(host)
    HostSmsPreference.objects.filter(host=host).update(mobile_proven_at=None)
    assert services.message_send(message_id=text.pk) == "skipped"
    text.refresh_from_db()
    assert text.skip_reason == "mobile_unproven"


def test_bulk_events_skip_an_unproven_mobile_and_text_a_proven_one(daytime):
    unproven_slot, unproven_host, _ = _host_slot()
    proven_slot, proven_host, _ = _host_slot()
    host_mobile_prove(proven_host)
    with transaction.atomic():
        bookings = Booking.objects.bulk_create(
            [BookingFactory.build(volunteer=volunteer_make(), slot=slot,
                     source=Booking.Source.ASSIGNED, proven_at=timezone.now()) for slot in (unproven_slot, proven_slot)])
        booking_events_record_bulk(booking_versions=[(b.pk, b.version) for b in bookings],
                                   kind=BookingEvent.Kind.CONFIRMED, payload={"source": "assigned"})
    [skipped] = _booking_texts(unproven_host)
    [sent] = _booking_texts(proven_host)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "mobile_unproven")
    assert sent.status == "queued"


def test_the_admin_shows_whether_a_hosts_mobile_is_proven_and_masks_the_code(client):
    from tests.factories import UserFactory

    slot, host, _ = _host_slot()
    proven_slot, proven_host, _ = _host_slot()
    host_mobile_prove(proven_host)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert "mobile proven" in client.get("/admin/sms/hostsmspreference/").content.decode()
    unproven = client.get("/admin/sms/hostsmspreference/?proven=no").context["cl"].result_list
    proven = client.get("/admin/sms/hostsmspreference/?proven=yes").context["cl"].result_list
    assert [p.host_id for p in unproven] == [host.pk] and [p.host_id for p in proven] == [proven_host.pk]
    code = _codes(host)[0]
    page = client.get(f"/admin/sms/smsmessage/{code.pk}/change/").content.decode()
    assert f"code {host_code_texted(host)}" not in page and "code ******" in page
