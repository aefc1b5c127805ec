"""A new host through the pages: sign up, confirm the email address by the emailed link, post a first session that
waits for an organiser's check; the coordinators' review queue approves or refuses it (HOST_VETTING)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from sessions.models import CanvassSession, HostStanding, VettingDecision
from sessions.services import meeting_point_create
from tests.factories import MeetingPointFactory, SlotFactory, UserFactory
from tests.web.test_hosts import tomorrow_slots

pytestmark = pytest.mark.django_db

SIGNUP = {"first_name": "Nia", "email": "nia@example.org",
          "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://frontroom.example"
    return mail.outbox


def _sign_up(client, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/host/signup/", {**SIGNUP, **changes})
    assert response.status_code == 302, response.content.decode()[:2000]
    return get_user_model().objects.get(email__iexact=changes.get("email", SIGNUP["email"]))


def _link(message) -> str:
    return re.search(r"https://frontroom\.example(/host/email/confirm/\S+/)", message.body).group(1)


def test_sign_up_emails_a_link_that_confirms_the_address_by_a_button(client, outbox,
                                                                      django_capture_on_commit_callbacks):
    user = _sign_up(client, django_capture_on_commit_callbacks, first_name="Win a prize at evil.example")
    assert len(outbox) == 1 and outbox[0].to == ["nia@example.org"]
    # The address may be a stranger's: nothing the sign-up typed is in the email.
    assert "evil" not in outbox[0].subject + outbox[0].body
    home = client.get("/host/").content.decode()
    assert "Confirm your email address" in home
    link = _link(outbox[0])
    page = client.get(link)  # a mail scanner opening the link proves nothing
    assert page.status_code == 200 and b"Confirm my email address" in page.content
    assert not HostStanding.objects.get(host=user).email_verified
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert HostStanding.objects.get(host=user).email_verified == "nia@example.org"
    assert "Confirm your email address" not in client.get("/host/").content.decode()
    assert client.post(link).status_code == 302  # twice: still fine


def test_a_forged_link_gets_a_friendly_page(client, outbox,
                                                        django_capture_on_commit_callbacks):
    _sign_up(client, django_capture_on_commit_callbacks)
    link = _link(outbox[0])
    forged = client.post(link[:-3] + "xx/")
    assert forged.status_code == 400 and b"ask for a new one" in forged.content


def test_the_link_expires(client, outbox, settings, django_capture_on_commit_callbacks):
    from django.core import signing

    user = _sign_up(client, django_capture_on_commit_callbacks)
    link = _link(outbox[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    old = signing.TimestampSigner(salt="frontroom.hosts.email-verify")
    # The same payload signed four days ago: past HOST_EMAIL_VERIFY_DAYS (3).
    payload = old.unsign_object(token)
    stale = signing.TimestampSigner(salt="frontroom.hosts.email-verify")
    stale.timestamp = lambda: signing.b62_encode(int(timezone.now().timestamp()) - 4 * 86400)
    expired = client.post(f"/host/email/confirm/{stale.sign_object(payload)}/")
    assert expired.status_code == 400 and b"expired" in expired.content
    assert not HostStanding.objects.get(host=user).email_verified


def test_a_new_link_on_request_and_not_too_often(client, outbox, settings, django_capture_on_commit_callbacks):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "host_verify_email": "1/h"}
    _sign_up(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post("/host/email/confirm-again/", follow=True)
    assert b"We have emailed a new link" in again.content and len(outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        third = client.post("/host/email/confirm-again/", follow=True)
    assert b"several links already" in third.content and len(outbox) == 2


def test_an_unconfirmed_host_gets_no_password_reset_email(client, outbox, django_capture_on_commit_callbacks):
    _sign_up(client, django_capture_on_commit_callbacks)
    outbox.clear()
    Client().post("/host/password-reset/", {"email": "nia@example.org"})
    assert outbox == []


def test_sign_up_with_a_bad_email_says_so_next_to_the_email(client):
    response = client.post("/host/signup/", {**SIGNUP, "email": "nia@"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_email_error"' in html and "name@example.org" in html


# ---- vetting ----

@pytest.fixture
def new_host(seat, postcode):
    return UserFactory(username="newbie", standing=False)


def _post_session(client, room) -> CanvassSession:
    data = {"meeting_point": room.pk, "title": "First doors", "description": "", "what_to_bring": "Shoes",
            **tomorrow_slots(1)}
    response = client.post("/host/sessions/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return CanvassSession.objects.get(title="First doors")


def test_a_new_hosts_first_session_waits_for_a_check_and_is_not_public(new_host, seat, postcode):
    client = Client()
    client.force_login(new_host)
    room = meeting_point_create(host=new_host, name="Newbie's room", address="1 Road", postcode=postcode.postcode,
                                capacity=8)
    session = _post_session(client, room)
    assert session.status == CanvassSession.Status.REVIEW
    detail = client.get(f"/host/sessions/{session.pk}/").content.decode()
    assert "Waiting for an organiser&#x27;s check" in detail or "Waiting for an organiser's check" in detail
    assert "First doors" in client.get("/host/").content.decode()
    anyone = Client()
    assert anyone.get(f"/s/{session.pk}/").status_code == 404
    assert anyone.get(f"/api/s/{session.pk}/").status_code == 404
    assert session.pk not in [row["id"] for row in anyone.get("/api/sessions/").json()["results"]]
    near = anyone.get("/api/sessions/", {"near": postcode.postcode}).json()["results"]
    assert session.pk not in [row["id"] for row in near]


def test_with_vetting_off_a_new_hosts_session_publishes_at_once(new_host, postcode, settings):
    settings.HOST_VETTING = False
    client = Client()
    client.force_login(new_host)
    room = meeting_point_create(host=new_host, name="Newbie's room", address="1 Road", postcode=postcode.postcode,
                                capacity=8)
    assert _post_session(client, room).status == CanvassSession.Status.PUBLISHED


@pytest.fixture
def coordinator(db):
    return UserFactory(username="coord", is_staff=True, email="", standing=False)


@pytest.fixture
def waiting(new_host, seat, postcode):
    room = MeetingPointFactory(host=new_host, seat=seat, postcode=postcode.postcode)
    return SlotFactory(session__meeting_point=room, session__title="Newbie's doors",
                       session__status=CanvassSession.Status.REVIEW).session


def test_the_review_queue_is_for_coordinators_only(client, waiting, new_host):
    assert client.get("/coordinate/reviews/").status_code == 302
    client.force_login(new_host)
    assert client.get("/coordinate/reviews/").status_code == 403
    assert client.post(f"/coordinate/reviews/{waiting.pk}/approve/").status_code == 403


def test_a_coordinator_approves_and_the_host_is_trusted_after(client, coordinator, waiting, new_host, seat):
    client.force_login(coordinator)
    queue = client.get("/coordinate/reviews/").content.decode()
    assert "Newbie&#x27;s doors" in queue or "Newbie's doors" in queue
    response = client.post(f"/coordinate/reviews/{waiting.pk}/approve/", follow=True)
    assert b"Published" in response.content
    waiting.refresh_from_db()
    assert waiting.status == CanvassSession.Status.PUBLISHED and waiting.reviewed_by == coordinator
    assert HostStanding.objects.get(host=new_host).trusted
    assert list(VettingDecision.objects.filter(host=new_host).values_list("kind", "by")) == [
        ("trusted", coordinator.pk), ("approved", coordinator.pk)]
    assert Client().get(f"/s/{waiting.pk}/").status_code == 200
    later = client.post(f"/coordinate/reviews/{waiting.pk}/approve/", follow=True)
    assert b"answered already" in later.content
    assert "Latest decisions" in later.content.decode() and "Session approved" in later.content.decode()


def test_a_coordinator_refuses_with_a_reason_the_host_sees(client, coordinator, waiting, new_host):
    client.force_login(coordinator)
    empty = client.post(f"/coordinate/reviews/{waiting.pk}/refuse/", {"reason": "  "})
    assert empty.status_code == 400 and f'id="refuse-{waiting.pk}-reason-error"'.encode() in empty.content
    response = client.post(f"/coordinate/reviews/{waiting.pk}/refuse/", {"reason": "This room is not in the seat."},
                           follow=True)
    assert b"Not published" in response.content
    waiting.refresh_from_db()
    assert waiting.status == CanvassSession.Status.REFUSED
    assert not HostStanding.objects.filter(host=new_host, trusted=True).exists()
    host = Client()
    host.force_login(new_host)
    assert b"This room is not in the seat." in host.get(f"/host/sessions/{waiting.pk}/").content
    assert Client().get(f"/s/{waiting.pk}/").status_code == 404
    assert VettingDecision.objects.get(host=new_host).reason == "This room is not in the seat."


def test_a_coordinator_trusts_a_host_from_the_queue(client, coordinator, waiting, new_host):
    client.force_login(coordinator)
    client.post(f"/coordinate/hosts/{new_host.pk}/trust/", {"trusted": "1"})
    assert HostStanding.objects.get(host=new_host).trusted
    assert VettingDecision.objects.get(host=new_host).kind == "trusted"


def test_a_new_address_on_the_notifications_page_is_unproven_until_its_link_is_followed(
        outbox, django_capture_on_commit_callbacks):
    host = UserFactory(username="moving", email="old@example.org")
    client = Client()
    client.force_login(host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/host/notifications/", {"each": "email", "email": "new@example.org"})
    assert response.status_code == 302
    assert [message.to for message in outbox] == [["new@example.org"]]
    assert "Confirm your email address" in client.get("/host/").content.decode()
    client.post(_link(outbox[0]))
    assert HostStanding.objects.get(host=host).email_verified == "new@example.org"


def test_the_notifications_page_refuses_another_accounts_address(client):
    UserFactory(username="owner", email="taken@example.org")
    host = UserFactory(username="moving")
    client.force_login(host)
    response = client.post("/host/notifications/", {"each": "email", "email": "TAKEN@example.org"})
    assert response.status_code == 200 and "Another account has this address" in response.content.decode()


def test_a_trusted_host_checks_sessions_in_their_seat_and_sees_no_room(waiting, seat, postcode):
    local = UserFactory(username="local")
    MeetingPointFactory(host=local, seat=seat, postcode=postcode.postcode)
    client = Client()
    client.force_login(local)
    assert "wait for a check" in client.get("/host/").content.decode() or \
        "waits for a check" in client.get("/host/").content.decode()
    page = client.get("/host/reviews/").content.decode()
    assert "Newbie" in page and waiting.meeting_point.address not in page and waiting.meeting_point.name not in page
    assert "newbie" not in page  # nor the host's username
    refused = client.post(f"/host/reviews/{waiting.pk}/refuse/", {"reason": ""})
    assert refused.status_code == 400
    client.post(f"/host/reviews/{waiting.pk}/approve/")
    waiting.refresh_from_db()
    assert waiting.status == CanvassSession.Status.PUBLISHED and waiting.reviewed_by == local


def test_hosts_who_are_not_trusted_have_nothing_to_check(waiting, new_host):
    client = Client()
    client.force_login(UserFactory(username="stranger", standing=False))
    assert "Newbie" not in client.get("/host/reviews/").content.decode()
    assert client.post(f"/host/reviews/{waiting.pk}/approve/").status_code == 404
    waiting.refresh_from_db()
    assert waiting.status == CanvassSession.Status.REVIEW
