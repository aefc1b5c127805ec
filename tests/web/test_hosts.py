"""Hosts' pages through Django's test client: account, front rooms, sessions, roster, attendance, cancel."""

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from notify.sms.models import SmsMessage
from sessions.models import CanvassSession, MeetingPoint, Slot
from tests.factories import MeetingPointFactory, SlotFactory, UserFactory
from tests.factories import book as book_and_prove
from tests.web.host_data import book as book_slot
from volunteers.models import Booking, BookingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(db):
    return UserFactory(username="aisha", first_name="Aisha")


@pytest.fixture
def host_client(host):
    client = Client()
    client.force_login(host)
    return client


@pytest.fixture
def other_client(db):
    client = Client()
    client.force_login(UserFactory(username="mallory"))
    return client


@pytest.fixture
def room(host, seat, postcode):
    return MeetingPointFactory(host=host, seat=seat, postcode=postcode.postcode, capacity=12, name="Aisha's front room")


@pytest.fixture
def slot(room):
    return SlotFactory(session__meeting_point=room, session__title="Saturday on the doors", capacity=3)


def book(slot, n: int, name: str | None = None) -> Booking:
    return book_slot(slot, name=name or f"Volunteer {n}", phone=f"07400 2000{n:02d}")


def tomorrow_slots(count=3) -> dict:
    day = (timezone.localtime() + timedelta(days=2)).date()
    data = {"date": day.isoformat(), "slots-TOTAL_FORMS": str(count), "slots-INITIAL_FORMS": "0",
            "slots-MIN_NUM_FORMS": "0", "slots-MAX_NUM_FORMS": "20"}
    for i in range(count):
        data.update({f"slots-{i}-starts": f"{10 + 2 * i:02d}:00",
                     f"slots-{i}-ends": f"{11 + 2 * i:02d}:30", f"slots-{i}-capacity": "4",
                     f"slots-{i}-turf": f"Street {i}"})
    return data


# ---- account ----

def test_anonymous_hosts_are_sent_to_sign_in(client, slot):
    for url in ("/host/", "/host/rooms/new/", "/host/sessions/new/", f"/host/sessions/{slot.session_id}/",
                f"/host/sessions/{slot.session_id}/edit/", f"/host/sessions/{slot.session_id}/cancel/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/host/login/?next="), url


def signup_data(**changes) -> dict:
    return {"first_name": "Nia", "email": "Nia.Jones@Example.org", "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase", **changes}


def test_sign_up_with_an_email_creates_a_host_who_is_not_staff_and_is_signed_in(client):
    page = client.get("/host/signup/").content.decode()
    assert 'name="username"' not in page and 'type="email"' in page
    assert "only for resetting" not in page and "How you hear of bookings" in page
    response = client.post("/host/signup/", signup_data())
    assert response.status_code == 302 and response["Location"] == "/host/rooms/new/"
    user = get_user_model().objects.get(email__iexact="nia.jones@example.org")
    assert not user.is_staff and user.first_name == "Nia" and user.username == "nia.jones@example.org"
    assert client.get("/host/").status_code == 200


def test_sign_up_errors_are_all_said_at_once_in_plain_words_next_to_their_field(client, host):
    response = client.post("/host/signup/", {"first_name": "", "email": "not-an-email", "password1": "short",
                                             "password2": "other"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert re.search(r'id="id_first_name_error"[^>]*>.*Type your first name', html, re.S)
    assert re.search(r'id="id_email_error"[^>]*>.*name@example.org', html, re.S)
    assert re.search(r'id="id_password2_error"[^>]*>.*Not the same as the password above', html, re.S)
    assert re.search(r'<input[^>]*name="email"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*name="email"[^>]*aria-describedby="[^"]*id_email_error', html)
    weak = client.post("/host/signup/", signup_data(password1="12345678", password2="12345678")).content.decode()
    assert re.search(r'id="id_password1_error"[^>]*>.*digits only', weak, re.S)
    assert "didn’t match" not in html and "This password" not in weak


def test_sign_up_with_a_taken_email_says_so_next_to_the_email(client, host):
    response = client.post("/host/signup/", signup_data(email=host.email.upper()))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="id_email_error"[^>]*>.*already has an account: sign in, or reset your password', html,
                     re.S)
    assert get_user_model().objects.filter(email__iexact=host.email).count() == 1


def test_sign_up_is_rate_limited_per_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "host_signup_ip": "2/h"}
    for _ in range(2):
        assert client.post("/host/signup/", {"email": ""}).status_code == 200
    response = client.post("/host/signup/", {"email": ""})
    assert response.status_code == 429


def test_an_existing_account_signs_in_with_its_email_whatever_its_case(client, host):
    page = client.get("/host/login/").content.decode()
    assert 'autocomplete="current-password"' in page and "Email address" in page
    wrong = client.post("/host/login/", {"username": host.email, "password": "nope"})
    html = wrong.content.decode()
    assert wrong.status_code == 200 and 'role="alert"' in html
    assert re.search(r'id="id_password_error"[^>]*>.*do not match an account', html, re.S)
    unknown = client.post("/host/login/", {"username": "nobody@example.org", "password": "nope"}).content.decode()
    assert "do not match an account" in unknown  # the same answer: no sign of which addresses have accounts
    right = client.post("/host/login/", {"username": f"  {host.email.upper()} ", "password": "a-long-password-9"})
    assert right.status_code == 302 and right["Location"] == "/host/"
    assert client.session["_auth_user_id"] == str(host.pk)


def test_an_address_two_old_accounts_share_signs_in_the_one_whose_password_it_is(client, host):
    old = UserFactory(username="aisha-old", email=host.email.upper())
    old.set_password("another-long-one")
    old.save()
    response = client.post("/host/login/", {"username": host.email, "password": "another-long-one"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(username="aisha-old").pk)


def test_a_username_still_signs_in_staff_without_an_address(client):
    UserFactory(username="coordinator", email="", is_staff=True)
    response = client.post("/host/login/", {"username": "coordinator", "password": "a-long-password-9"})
    assert response.status_code == 302


@pytest.mark.usefixtures("ratelimit_clock")
def test_failed_sign_ins_by_email_lock_out_whatever_the_case(client, host, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        email = host.email.upper() if n % 2 else host.email
        assert client.post("/host/login/", {"username": email, "password": "wrong"}).status_code == 200
    assert client.post("/host/login/", {"username": host.email.title(), "password": "wrong"}).status_code == 429
    locked = client.post("/host/login/", {"username": host.email, "password": "a-long-password-9"})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_sign_out_is_a_post(host_client):
    response = host_client.post("/host/logout/")
    assert response.status_code == 302
    assert host_client.get("/host/").status_code == 302


def test_password_reset_mails_a_link_built_from_the_public_address(client, host, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://frontroom.example"
    response = client.post("/host/password-reset/", {"email": host.email}, HTTP_HOST="localhost")
    assert response.status_code == 302 and response["Location"] == "/host/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert "Hello Aisha" in mail.outbox[0].body and f"sign in to with {host.email}" in mail.outbox[0].body
    link = re.search(r"https://frontroom\.example(/host/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "another-long-phrase",
                                                    "new_password2": "another-long-phrase"})
    assert done.status_code == 302 and done["Location"] == "/host/reset/done/"
    host.refresh_from_db()
    assert host.check_password("another-long-phrase")
    assert client.post("/host/login/", {"username": host.email, "password": "another-long-phrase"}).status_code == 302


def test_a_new_password_that_is_too_weak_or_not_repeated_is_said_in_plain_words(client, host, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/host/password-reset/", {"email": host.email})
    link = re.search(r"https?://[^/]+(/host/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    html = client.post(form_url, {"new_password1": "password", "new_password2": "password"}).content.decode()
    assert re.search(r'id="id_new_password1_error"[^>]*>.*among the first tried', html, re.S)
    html = client.post(form_url, {"new_password1": "a-long-pass-phrase", "new_password2": "x"}).content.decode()
    assert re.search(r'id="id_new_password2_error"[^>]*>.*Not the same', html, re.S)


def test_password_reset_answers_the_same_for_an_unknown_address_and_is_rate_limited(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_ip": "1/h"}
    response = client.post("/host/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/host/password-reset/sent/"
    assert mail.outbox == []
    assert client.post("/host/password-reset/", {"email": "nobody@example.org"}).status_code == 429


# ---- front rooms ----

def test_open_a_front_room(host_client, host, postcode):
    response = host_client.post("/host/rooms/new/", {
        "name": "The front room", "address": "12 Crookes Road\nSheffield", "postcode": "s10 1aa", "capacity": "8",
        "accessibility_notes": "Two steps at the door", "host_first_name": "Aisha", "host_phone": "07700 900123"})
    room = MeetingPoint.objects.get(host=host)
    assert response.status_code == 302 and response["Location"] == f"/host/sessions/new/?room={room.pk}"
    assert (room.postcode, room.capacity, room.seat_id) == ("S10 1AA", 8, postcode.seat_id)


def test_an_unknown_postcode_is_said_next_to_the_postcode_field(host_client, host, postcode):
    response = host_client.post("/host/rooms/new/", {"name": "Room", "address": "1 Road", "postcode": "ZZ99 9ZZ",
                                                     "capacity": "8"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_postcode_error"' in html and re.search(r'name="postcode"[^>]*aria-invalid="true"', html)
    assert not MeetingPoint.objects.filter(host=host).exists()


def test_moving_a_front_room_texts_the_booked_volunteers(host_client, room, slot):
    booking = book(slot, 1)
    data = {"name": room.name, "address": "99 New Street", "postcode": room.postcode, "capacity": "12",
            "accessibility_notes": "", "host_first_name": "Aisha", "host_phone": "", "is_active": "on"}
    assert host_client.post(f"/host/rooms/{room.pk}/edit/", data).status_code == 302
    assert SmsMessage.objects.filter(booking=booking, kind="venue_moved").exists()


def test_another_hosts_room_is_not_found(other_client, room):
    assert other_client.get(f"/host/rooms/{room.pk}/edit/").status_code == 404
    assert other_client.get("/host/rooms/99999999999999999999/edit/").status_code == 404


# ---- posting a session ----

def test_post_a_session_with_one_date_and_three_slots_in_one_form(host_client, room):
    page = host_client.get(f"/host/sessions/new/?room={room.pk}").content.decode()
    assert page.count('name="date"') == 1 and 'name="slots-0-date"' not in page
    assert page.count('name="slots-') >= 12
    data = {"meeting_point": str(room.pk), "title": "Saturday in Crookes", "description": "", "what_to_bring": "Shoes",
            **tomorrow_slots(3)}
    response = host_client.post("/host/sessions/new/", data)
    session = CanvassSession.objects.get(title="Saturday in Crookes")
    assert response.status_code == 302 and response["Location"] == f"/host/sessions/{session.pk}/"
    assert [(s.capacity, s.turf) for s in session.slots.all()] == [(4, "Street 0"), (4, "Street 1"), (4, "Street 2")]
    starts = [timezone.localtime(slot.starts_at) for slot in session.slots.all()]
    assert [start.hour for start in starts] == [10, 12, 14]
    assert {start.date().isoformat() for start in starts} == {data["date"]}


def test_what_to_bring_and_the_others_are_placeholders_not_text_to_type_after(host_client, room):
    page = host_client.get(f"/host/sessions/new/?room={room.pk}").content.decode()
    field = re.search(r'<input[^>]*name="what_to_bring"[^>]*>', page).group(0)
    assert 'placeholder="Comfortable shoes and a charged phone"' in field and "value=" not in field
    assert re.search(r'<textarea[^>]*name="description"[^>]*placeholder="[^"]+"[^>]*>\s*</textarea>', page)
    data = {"meeting_point": str(room.pk), "title": "Plain", "what_to_bring": "A raincoat", **tomorrow_slots(1)}
    host_client.post("/host/sessions/new/", data)
    assert CanvassSession.objects.get(title="Plain").what_to_bring == "A raincoat"


def test_empty_slot_rows_are_skipped_and_add_row_keeps_what_was_typed(host_client, room):
    data = {"meeting_point": str(room.pk), "title": "Typed", "what_to_bring": "", **tomorrow_slots(1)}
    data.update({"slots-TOTAL_FORMS": "3", "add_row": "1"})
    response = host_client.post("/host/sessions/new/", data)
    assert response.status_code == 200 and not CanvassSession.objects.exists()
    html = response.content.decode()
    assert 'name="slots-TOTAL_FORMS" value="4"' in html and 'name="slots-3-starts"' in html
    assert 'value="Typed"' in html and 'role="alert"' not in html
    data.pop("add_row")
    assert host_client.post("/host/sessions/new/", data).status_code == 302
    assert CanvassSession.objects.get(title="Typed").slots.count() == 1


def test_remove_takes_a_row_out_of_a_new_session_and_keeps_the_others(host_client, room):
    data = {"meeting_point": str(room.pk), "title": "Three", "what_to_bring": "", **tomorrow_slots(3),
            "remove_row": "1"}
    html = host_client.post("/host/sessions/new/", data).content.decode()
    assert 'name="slots-TOTAL_FORMS" value="2"' in html and 'role="alert"' not in html
    assert "Street 0</textarea>" in html and "Street 2</textarea>" in html and "Street 1" not in html
    assert re.search(r'name="slots-1-starts"[^>]*value="14:00"', html)
    data = {key: value for key, value in data.items() if not key.startswith("slots-1-") and key != "remove_row"}
    data.update({f"slots-1-{key.split('-', 2)[2]}": value for key, value in list(data.items())
                 if key.startswith("slots-2-")})
    data = {key: value for key, value in data.items() if not key.startswith("slots-2-")}
    data["slots-TOTAL_FORMS"] = "2"
    assert host_client.post("/host/sessions/new/", data).status_code == 302
    assert [slot.turf for slot in CanvassSession.objects.get(title="Three").slots.all()] == ["Street 0", "Street 2"]


def test_every_error_of_the_form_is_said_at_once_on_its_field(host_client, room):
    data = {"meeting_point": str(room.pk), "title": "", "what_to_bring": "", **tomorrow_slots(3)}
    data["slots-0-ends"] = "09:00"  # before its start
    data["slots-1-capacity"] = "50"  # the room holds 12
    data["slots-2-starts"] = ""
    response = host_client.post("/host/sessions/new/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="id_title_error"[^>]*>.*Give the session a title', html, re.S)
    assert re.search(r'id="id_slots-0-ends_error"[^>]*>.*later than the start', html, re.S)
    assert re.search(r'name="slots-0-ends"[^>]*aria-invalid="true"', html)
    assert 'id="id_slots-2-starts_error"' in html and "Give a start time" in html
    assert not CanvassSession.objects.exists()
    data.update(title="Now titled", **{"slots-0-ends": "11:30", "slots-2-starts": "14:00"})
    html = host_client.post("/host/sessions/new/", data).content.decode()
    assert re.search(r'id="id_slots-1-capacity_error"[^>]*>.*the room holds 12', html, re.S)
    assert not CanvassSession.objects.exists() and not Slot.objects.exists()


def test_a_past_date_or_time_is_refused_on_its_field(host_client, room):
    data = {"meeting_point": str(room.pk), "title": "Past", "what_to_bring": "", **tomorrow_slots(1)}
    data["date"] = (timezone.localdate() - timedelta(days=3)).isoformat()
    response = host_client.post("/host/sessions/new/", data)
    assert response.status_code == 200 and b'id="id_date_error"' in response.content
    data["date"] = timezone.localdate().isoformat()
    data["slots-0-starts"], data["slots-0-ends"] = "00:00", "00:01"
    response = host_client.post("/host/sessions/new/", data)
    assert response.status_code == 200 and b'id="id_slots-0-starts_error"' in response.content
    assert not CanvassSession.objects.exists()


def test_no_slot_at_all_is_an_error_not_a_session(host_client, room):
    data = {"meeting_point": str(room.pk), "title": "Empty", "what_to_bring": "",
            "slots-TOTAL_FORMS": "3", "slots-INITIAL_FORMS": "0"}
    response = host_client.post("/host/sessions/new/", data)
    assert response.status_code == 200 and b"Add at least one slot" in response.content
    assert not CanvassSession.objects.exists()


def test_a_host_cannot_post_at_another_hosts_room(other_client, room):
    MeetingPointFactory(host=UserFactory(username="mallory"), seat=room.seat)
    data = {"meeting_point": str(room.pk), "title": "Hijack", "what_to_bring": "", **tomorrow_slots(1)}
    response = other_client.post("/host/sessions/new/", data)
    assert response.status_code == 200 and b'id="id_meeting_point_error"' in response.content
    assert not CanvassSession.objects.filter(title="Hijack").exists()


def test_without_a_room_posting_a_session_starts_by_opening_one(host_client):
    assert host_client.get("/host/sessions/new/")["Location"] == "/host/rooms/new/"


# ---- my sessions and the roster ----

def test_my_sessions_counts_booked_pending_and_waiting_with_the_capacity(host_client, slot, other_client):
    book(slot, 1)
    book_and_prove(slot, "07400 200098", name="Unproven", proven=False)  # a place held, phone not proven
    small = SlotFactory(session=slot.session, starts_at=slot.starts_at + timedelta(hours=3),
                        ends_at=slot.ends_at + timedelta(hours=3), capacity=1)
    book(small, 2)
    book(small, 3)  # full: the waitlist
    SlotFactory(session__title="Someone else's")
    html = host_client.get("/host/").content.decode()
    assert "Saturday on the doors" in html and "Someone else" not in html
    counts = dict(re.findall(r"<dt>(\w+)</dt><dd>(\d+)</dd>", html))
    assert counts == {"Booked": "2", "Pending": "1", "Waitlist": "1", "Places": "4"}
    assert "2 of 4 places booked" in html


def test_the_session_heading_gives_the_date_and_every_slot(host_client, future_slot):
    SlotFactory(session=future_slot.session, starts_at=future_slot.starts_at + timedelta(hours=3),
                ends_at=future_slot.starts_at + timedelta(hours=4, minutes=30), capacity=3)
    day = timezone.localtime(future_slot.starts_at)
    start, end = timezone.localtime(future_slot.starts_at), timezone.localtime(future_slot.ends_at)
    expected = (f"<strong>{day:%A} {day.day} {day:%B}</strong>: {start:%H:%M}–{end:%H:%M}, "
                f"{start + timedelta(hours=3):%H:%M}–{start + timedelta(hours=4, minutes=30):%H:%M}")
    assert expected in host_client.get(f"/host/sessions/{future_slot.session_id}/").content.decode()
    assert expected in host_client.get("/host/").content.decode()


def test_the_roster_shows_names_mobiles_and_the_waitlist(host_client, slot):
    for n in range(4):
        book(slot, n)
    html = host_client.get(f"/host/sessions/{slot.session_id}/").content.decode()
    assert "Volunteer 0" in html and 'href="tel:+447400200000"' in html
    assert "Waitlist, in order" in html and "Volunteer 3" in html
    assert "0 places left" in html


def test_another_host_gets_404_for_my_session_roster_attendance_and_cancel(other_client, slot):
    booking = book(slot, 1)
    session_id = slot.session_id
    assert other_client.get(f"/host/sessions/{session_id}/").status_code == 404
    assert other_client.get(f"/host/sessions/{session_id}/edit/").status_code == 404
    assert other_client.get(f"/host/sessions/{session_id}/copy/").status_code == 404
    assert other_client.get(f"/host/sessions/{session_id}/cancel/").status_code == 404
    assert other_client.post(f"/host/sessions/{session_id}/cancel/", {"confirm": "on"}).status_code == 404
    assert other_client.post(f"/host/sessions/{session_id}/attendance/",
                             {"booking": booking.pk, "attended": "yes"}).status_code == 404
    assert other_client.get("/host/sessions/99999999999999999999/").status_code == 404
    assert CanvassSession.objects.get(pk=session_id).status == "published"


# ---- editing, copying, cancelling ----

def _edit_data(session) -> dict:
    slots = list(session.slots.all())
    data = {"title": session.title, "description": session.description, "what_to_bring": session.what_to_bring,
            "date": timezone.localtime(slots[0].starts_at).date().isoformat(),
            "slots-TOTAL_FORMS": str(len(slots)), "slots-INITIAL_FORMS": str(len(slots))}
    for i, slot in enumerate(slots):
        start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        data.update({f"slots-{i}-slot_id": slot.pk, f"slots-{i}-day_offset": "0",
                     f"slots-{i}-starts": f"{start:%H:%M}", f"slots-{i}-ends": f"{end:%H:%M}",
                     f"slots-{i}-capacity": slot.capacity, f"slots-{i}-turf": slot.turf})
    return data


@pytest.fixture
def future_slot(room):
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    return SlotFactory(session__meeting_point=room, session__title="Saturday on the doors", session__starts_at=start,
                       capacity=3)


def test_editing_details_and_capacity_texts_nobody(host_client, future_slot):
    booking = book(future_slot, 1)
    data = _edit_data(future_slot.session)
    data.update({"title": "Renamed", "slots-0-capacity": "5", "slots-0-turf": "Both sides of Crookes Road"})
    assert host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data).status_code == 302
    future_slot.refresh_from_db()
    assert (future_slot.session.title, future_slot.capacity, future_slot.turf) == (
        "Renamed", 5, "Both sides of Crookes Road")
    assert not SmsMessage.objects.filter(booking=booking, kind="slot_rescheduled").exists()


def test_a_slot_time_change_texts_its_volunteers(host_client, future_slot):
    booking = book(future_slot, 1)
    data = _edit_data(future_slot.session)
    data.update({"slots-0-starts": "13:00", "slots-0-ends": "15:00"})
    assert host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data).status_code == 302
    future_slot.refresh_from_db()
    assert timezone.localtime(future_slot.starts_at).hour == 13
    assert timezone.localtime(future_slot.session.ends_at).hour == 15
    message = SmsMessage.objects.get(booking=booking, kind="slot_rescheduled")
    assert "13:00-15:00" in message.body


def test_a_refused_slot_change_rolls_back_the_whole_edit(host_client, future_slot):
    for n in range(3):
        book(future_slot, n)
    data = _edit_data(future_slot.session)
    data.update({"title": "Should not stick", "slots-0-capacity": "1", "slots-0-starts": "14:00", "slots-0-ends": "16:00"})
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data)
    assert response.status_code == 200 and b'id="id_slots-0-capacity_error"' in response.content
    future_slot.refresh_from_db()
    assert future_slot.session.title == "Saturday on the doors" and timezone.localtime(future_slot.starts_at).hour == 10
    assert not SmsMessage.objects.filter(kind="slot_rescheduled").exists()


def test_changing_the_date_moves_every_slot_and_texts_their_volunteers(host_client, future_slot):
    second = SlotFactory(session=future_slot.session, starts_at=future_slot.starts_at + timedelta(hours=3),
                         ends_at=future_slot.ends_at + timedelta(hours=3), capacity=3)
    booking = book(second, 1)
    data = _edit_data(future_slot.session)
    new_day = timezone.localdate() + timedelta(days=5)
    data["date"] = new_day.isoformat()
    assert host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data).status_code == 302
    for slot in (future_slot, second):
        slot.refresh_from_db()
        assert timezone.localtime(slot.starts_at).date() == new_day
    assert timezone.localtime(second.starts_at).hour == 13
    assert SmsMessage.objects.filter(booking=booking, kind="slot_rescheduled").exists()


def test_editing_adds_a_slot_with_the_add_button_then_saves_it(host_client, future_slot):
    data = _edit_data(future_slot.session)
    html = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", {**data, "add_row": "1"}).content.decode()
    assert 'name="slots-TOTAL_FORMS" value="2"' in html and 'name="slots-1-starts"' in html
    assert 'role="alert"' not in html
    data.update({"slots-TOTAL_FORMS": "2", "slots-1-starts": "14:00", "slots-1-ends": "16:00", "slots-1-capacity": "6",
                 "slots-1-turf": "Walkley Road", "slots-1-slot_id": "", "slots-1-day_offset": "0"})
    assert host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data).status_code == 302
    slots = list(future_slot.session.slots.all())
    assert [(timezone.localtime(s.starts_at).hour, s.capacity, s.turf) for s in slots][1] == (14, 6, "Walkley Road")
    assert timezone.localtime(CanvassSession.objects.get(pk=future_slot.session_id).ends_at).hour == 16


def test_removing_an_unbooked_slot_deletes_it(host_client, future_slot):
    spare = SlotFactory(session=future_slot.session, starts_at=future_slot.starts_at + timedelta(hours=3),
                        ends_at=future_slot.ends_at + timedelta(hours=3), capacity=3)
    data = _edit_data(future_slot.session)
    html = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/",
                            {**data, "remove_row": "1"}).content.decode()
    assert "will be removed when you save" in html and 'name="slots-1-DELETE"' in html and "Keep slot 2" in html
    kept = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/",
                            {**data, "slots-1-DELETE": "on", "keep_row": "1"}).content.decode()
    assert "will be removed" not in kept
    assert host_client.post(f"/host/sessions/{future_slot.session_id}/edit/",
                            {**data, "slots-1-DELETE": "on"}).status_code == 302
    assert not Slot.all_objects.filter(pk=spare.pk).exists()
    assert list(future_slot.session.slots.all()) == [future_slot]


def test_removing_a_booked_slot_asks_first_then_tells_its_volunteers(host_client, future_slot):
    other = SlotFactory(session=future_slot.session, starts_at=future_slot.starts_at + timedelta(hours=3),
                        ends_at=future_slot.ends_at + timedelta(hours=3), capacity=1)
    proven, waiting = book(other, 1), book(other, 2)
    unproven = book_and_prove(other, "07400 200099", name="Unproven", proven=False)
    data = {**_edit_data(future_slot.session), "slots-1-DELETE": "on"}
    page = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", {**data, "remove_row": "1"})
    assert "3 volunteers are booked on it" in page.content.decode()
    refused = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data)
    html = refused.content.decode()
    assert refused.status_code == 200
    assert re.search(r'id="id_slots-1-confirm_remove_error"[^>]*>.*3 volunteers are booked', html, re.S)
    assert Booking.objects.get(pk=proven.pk).status == "confirmed"
    done = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", {**data, "slots-1-confirm_remove": "on"})
    assert done.status_code == 302
    assert list(future_slot.session.slots.all()) == [future_slot]
    assert Slot.all_objects.get(pk=other.pk).removed_at is not None
    assert set(Booking.objects.filter(slot=other).values_list("status", flat=True)) == {"cancelled"}
    assert BookingEvent.objects.filter(booking__slot=other, kind="session_cancelled").count() == 3
    # The existing rule for texts a host causes: only to proven phones.
    texted = SmsMessage.objects.filter(kind="session_cancelled")
    assert set(texted.exclude(status="skipped").values_list("booking_id", flat=True)) == {proven.pk, waiting.pk}
    assert not texted.filter(booking=unproven).exclude(status="skipped").exists()
    detail = host_client.get(f"/host/sessions/{future_slot.session_id}/").content.decode()
    assert "telling the 3 volunteers booked on removed slots" in detail
    assert f'id="slot-{other.pk}"' not in detail and f'id="slot-{future_slot.pk}"' in detail


def test_the_last_slot_cannot_be_removed(host_client, future_slot):
    data = {**_edit_data(future_slot.session), "slots-0-DELETE": "on"}
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data)
    assert response.status_code == 200 and b"Add at least one slot" in response.content
    assert future_slot.session.slots.count() == 1


def test_copy_a_session_to_one_other_date(host_client, future_slot):
    book(future_slot, 1)
    new_date = timezone.localdate() + timedelta(days=10)
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {"date_1": new_date.isoformat()})
    copy = CanvassSession.objects.exclude(pk=future_slot.session_id).get()
    assert response.status_code == 302 and response["Location"] == f"/host/sessions/{copy.pk}/"
    slot = copy.slots.get()
    assert timezone.localtime(slot.starts_at).date() == new_date and timezone.localtime(slot.starts_at).hour == 10
    assert slot.turf == future_slot.turf and slot.confirmed_count == 0 and not slot.bookings.exists()


def test_copy_every_week_until_a_date_and_on_chosen_dates_at_once(host_client, future_slot):
    first = timezone.localtime(future_slot.starts_at).date()
    extra = first + timedelta(days=2)
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {
        "weekly_until": (first + timedelta(days=21)).isoformat(), "date_1": extra.isoformat(),
        "date_2": (first + timedelta(days=7)).isoformat()})  # also a weekly one: copied once
    assert response.status_code == 302 and response["Location"] == "/host/"
    days = sorted(timezone.localtime(s.starts_at).date() for s in CanvassSession.objects.exclude(
        pk=future_slot.session_id))
    assert days == sorted([first + timedelta(days=7), first + timedelta(days=14), first + timedelta(days=21), extra])
    assert "Copied to 4 dates" in host_client.get("/host/").content.decode()


def test_copies_are_all_or_nothing_and_limited(host_client, future_slot, room):
    first = timezone.localtime(future_slot.starts_at).date()
    too_many = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/",
                                {"weekly_until": (first + timedelta(days=7 * 13)).isoformat()})
    html = too_many.content.decode()
    assert too_many.status_code == 200 and re.search(r'id="id_weekly_until_error"[^>]*>.*at most 12 at once', html,
                                                     re.S)
    past = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {
        "date_1": (first + timedelta(days=7)).isoformat(),
        "date_2": (timezone.localdate() - timedelta(days=1)).isoformat()})
    assert past.status_code == 200 and b'id="id_date_2_error"' in past.content
    room.is_active = False  # the service refuses every date: nothing is written
    room.save()
    refused = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {
        "date_1": (first + timedelta(days=7)).isoformat(), "date_2": (first + timedelta(days=14)).isoformat()})
    assert refused.status_code == 200 and b'id="id_date_1_error"' in refused.content
    assert CanvassSession.objects.count() == 1


def test_copying_needs_a_date(host_client, future_slot):
    response = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {})
    assert response.status_code == 200 and b'id="id_weekly_until_error"' in response.content
    assert CanvassSession.objects.count() == 1


def test_cancel_asks_first_then_cancels_and_texts_the_volunteers(host_client, slot):
    booking = book(slot, 1)
    page = host_client.get(f"/host/sessions/{slot.session_id}/cancel/")
    assert page.status_code == 200 and b"1 volunteer has a place" in page.content
    unconfirmed = host_client.post(f"/host/sessions/{slot.session_id}/cancel/", {})
    assert unconfirmed.status_code == 200 and b'id="id_confirm_error"' in unconfirmed.content
    assert CanvassSession.objects.get(pk=slot.session_id).status == "published"
    assert host_client.post(f"/host/sessions/{slot.session_id}/cancel/", {"confirm": "on"}).status_code == 302
    assert CanvassSession.objects.get(pk=slot.session_id).status == "cancelled"
    assert SmsMessage.objects.filter(booking=booking, kind="session_cancelled").exists()


# ---- attendance ----

def test_attendance_is_recorded_once_the_slot_has_started(host_client, slot):
    booking = book(slot, 1)
    url = f"/host/sessions/{slot.session_id}/attendance/"
    early = host_client.post(url, {"booking": booking.pk, "attended": "yes"}, follow=True)
    assert b"has not started yet" in early.content
    assert b'name="attended"' not in early.content  # no buttons before the start
    Slot.objects.filter(pk=slot.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    page = host_client.get(f"/host/sessions/{slot.session_id}/")
    assert b'name="attended" value="yes"' in page.content
    response = host_client.post(url, {"booking": booking.pk, "attended": "yes"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.ATTENDED).count() == 1
    assert host_client.post(url, {"booking": booking.pk, "attended": "no"}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW


def test_attendance_for_a_booking_of_another_session_is_not_found(host_client, slot, room):
    other = SlotFactory(session__meeting_point=room)
    booking = book(other, 2)
    response = host_client.post(f"/host/sessions/{slot.session_id}/attendance/", {"booking": booking.pk, "attended": "yes"})
    assert response.status_code == 404


def test_a_volunteer_who_erased_their_details_shows_without_name_or_number(host_client, slot):
    from volunteers.privacy import volunteer_personal_data_erase

    gone = book(slot, 1, name="Erin Erased")
    kept = book(slot, 2)
    volunteer_personal_data_erase(volunteer_id=gone.volunteer_id)
    html = host_client.get(f"/host/sessions/{slot.session_id}/").content.decode()
    assert "Erin Erased" not in html and "+447400200001" not in html
    assert "A volunteer who erased their details" in html and kept.volunteer.name in html


def test_an_edit_naming_another_sessions_slot_leaves_that_slot_alone(host_client, future_slot):
    theirs = SlotFactory(capacity=3, turf="Their streets")
    data = _edit_data(future_slot.session)
    data.update({"slots-0-slot_id": theirs.pk, "slots-0-capacity": "1", "slots-0-turf": "Hijacked"})
    host_client.post(f"/host/sessions/{future_slot.session_id}/edit/", data)
    theirs.refresh_from_db()
    assert (theirs.capacity, theirs.turf) == (3, "Their streets")


def test_junk_in_ids_and_counts_is_a_form_answer_never_a_500(host_client, room, future_slot):
    junk = {"meeting_point": "abc", "title": "x", "slots-TOTAL_FORMS": "9999999", "slots-INITIAL_FORMS": "zz"}
    assert host_client.post("/host/sessions/new/", junk).status_code == 200
    assert host_client.post("/host/sessions/new/", {**junk, "add_row": "1"}).status_code == 200
    url = f"/host/sessions/{future_slot.session_id}/attendance/"
    assert host_client.post(url, {"booking": "99999999999999999999", "attended": "yes"}).status_code == 404
    assert host_client.post(url, {"booking": "x", "attended": "maybe"}).status_code == 302
    copy = host_client.post(f"/host/sessions/{future_slot.session_id}/copy/", {"date_1": "31/02/2026"})
    assert copy.status_code == 200 and b'id="id_date_1_error"' in copy.content


# ---- approvals ----

@pytest.fixture
def approval_slot(room):
    return SlotFactory(session__meeting_point=room, session__title="Approve each one", session__requires_approval=True,
                       capacity=1)


def test_the_session_form_sets_requires_approval(host_client, room):
    data = {"meeting_point": room.pk, "title": "Approved only", "what_to_bring": "", "requires_approval": "on",
            **tomorrow_slots(1)}
    assert host_client.post("/host/sessions/new/", data).status_code == 302
    session = CanvassSession.objects.get(title="Approved only")
    assert session.requires_approval
    edit = {**_edit_data(session), "requires_approval": ""}
    assert host_client.post(f"/host/sessions/{session.pk}/edit/", edit).status_code == 302
    session.refresh_from_db()
    assert not session.requires_approval


def test_the_roster_lists_who_waits_for_an_answer_with_approve_and_refuse(host_client, approval_slot):
    first, second = book(approval_slot, 1), book(approval_slot, 2)  # a place and a waitlist place, both waiting
    html = host_client.get(f"/host/sessions/{approval_slot.session_id}/").content.decode()
    waiting = html.split('id="waiting-heading"')[1].split("</section>")[0]
    assert "Waiting for your answer" in html and "Volunteer 1" in waiting and "Volunteer 2" in waiting
    assert f'action="/host/sessions/{approval_slot.session_id}/bookings/{first.pk}/approve/"' in waiting
    assert f'href="/host/sessions/{approval_slot.session_id}/bookings/{second.pk}/refuse/"' in waiting
    assert "csrfmiddlewaretoken" in waiting and "on the waitlist" in waiting


def test_a_session_without_approval_has_nobody_waiting(host_client, slot):
    book(slot, 1)
    assert "Waiting for your answer" not in host_client.get(f"/host/sessions/{slot.session_id}/").content.decode()


def test_approve_texts_the_address_and_the_volunteers_page_shows_it(host_client, approval_slot, client):
    booking = book(approval_slot, 1)
    page = html.unescape(client.get(f"/b/{booking.manage_token}").content.decode())
    assert "Waiting for the host's answer" in page and approval_slot.session.meeting_point.address not in page
    response = host_client.post(f"/host/sessions/{approval_slot.session_id}/bookings/{booking.pk}/approve/")
    assert response.status_code == 302 and response["Location"].endswith(f"#booking-{booking.pk}")
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.APPROVED
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.APPROVED).count() == 1
    assert "Approved: Volunteer 1" in host_client.get(response["Location"]).content.decode()
    assert approval_slot.session.meeting_point.address.splitlines()[0] in client.get(
        f"/b/{booking.manage_token}").content.decode()
    again = host_client.post(f"/host/sessions/{approval_slot.session_id}/bookings/{booking.pk}/approve/")
    assert again.status_code == 302  # idempotent: one event
    assert BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.APPROVED).count() == 1


def test_approve_is_a_post(host_client, approval_slot):
    booking = book(approval_slot, 1)
    assert host_client.get(
        f"/host/sessions/{approval_slot.session_id}/bookings/{booking.pk}/approve/").status_code == 405
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.PENDING


def test_refuse_asks_first_then_cancels_texts_and_promotes_the_waitlist(host_client, approval_slot, client,
                                                                      django_capture_on_commit_callbacks):
    first, second = book(approval_slot, 1), book(approval_slot, 2)
    url = f"/host/sessions/{approval_slot.session_id}/bookings/{first.pk}/refuse/"
    asked = host_client.get(url).content.decode()
    assert "Refuse Volunteer 1?" in asked and 'name="confirm"' in asked
    unticked = host_client.post(url, {})
    assert unticked.status_code == 200 and 'aria-invalid="true"' in unticked.content.decode()
    first.refresh_from_db()
    assert first.status == Booking.Status.CONFIRMED and first.approval == Booking.Approval.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        done = host_client.post(url, {"confirm": "on"})
    assert done.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.approval) == (Booking.Status.CANCELLED, Booking.Approval.REFUSED)
    assert second.status == Booking.Status.CONFIRMED  # the freed place went to the waitlist (after commit)
    assert BookingEvent.objects.filter(booking=first, kind=BookingEvent.Kind.REFUSED).count() == 1
    assert "Not this time" in client.get(f"/b/{first.manage_token}").content.decode()
    # Asked again (a second tab): nothing left to refuse, said plainly.
    assert host_client.post(url, {"confirm": "on"}).status_code == 302
    assert BookingEvent.objects.filter(booking=first, kind=BookingEvent.Kind.REFUSED).count() == 1


def test_another_host_can_neither_approve_nor_refuse(other_client, approval_slot):
    booking = book(approval_slot, 1)
    base = f"/host/sessions/{approval_slot.session_id}/bookings/{booking.pk}"
    assert other_client.post(base + "/approve/").status_code == 404
    assert other_client.get(base + "/refuse/").status_code == 404
    assert other_client.post(base + "/refuse/", {"confirm": "on"}).status_code == 404
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.PENDING and booking.status == Booking.Status.CONFIRMED


def test_a_booking_of_another_session_cannot_be_answered_through_mine(host_client, approval_slot, room):
    elsewhere = SlotFactory(session__requires_approval=True)
    booking = book(elsewhere, 1)
    mine = approval_slot.session_id
    assert host_client.post(f"/host/sessions/{mine}/bookings/{booking.pk}/approve/").status_code == 404
    assert host_client.post(f"/host/sessions/{mine}/bookings/{booking.pk}/refuse/", {"confirm": "on"}).status_code == 302
    assert host_client.post(f"/host/sessions/{mine}/bookings/99999999999999999999/approve/").status_code == 404
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.PENDING and booking.status == Booking.Status.CONFIRMED


def test_a_coordinator_may_answer_for_a_host(approval_slot):
    booking = book(approval_slot, 1)
    coordinator = Client()
    coordinator.force_login(UserFactory(username="coord", is_staff=True))
    response = coordinator.post(f"/host/sessions/{approval_slot.session_id}/bookings/{booking.pk}/approve/")
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.APPROVED


def test_approving_a_booking_no_longer_waiting_is_a_message_not_a_500(host_client, slot):
    booking = book(slot, 1)  # a session without approval: nothing to answer
    response = host_client.post(f"/host/sessions/{slot.session_id}/bookings/{booking.pk}/approve/", follow=True)
    assert response.status_code == 200 and "Only a booking waiting for approval" in response.content.decode()
    booking.refresh_from_db()
    assert booking.approval == Booking.Approval.NOT_REQUIRED


# ---- how the host hears of bookings -------------------------------------------------------------------------

def test_the_settings_page_offers_email_text_both_or_none_and_saves_the_mobile(host_client, host):
    from notify.email.models import HostEmailPreference
    from notify.sms.models import HostSmsPreference

    page = host_client.get("/host/notifications/").content.decode()
    for label in ("By email", "By text", "By email and by text", "Not each time", "Your mobile number"):
        assert label in page
    assert re.search(r'value="email"[^>]*checked', page)  # the default: an email each time
    response = host_client.post("/host/notifications/", {"each": "both", "email": host.email,
                                                          "mobile": "07400 900123"})
    assert response.status_code == 302
    assert HostEmailPreference.objects.get(host=host).notify == "each"
    preference = HostSmsPreference.objects.get(host=host)
    assert (preference.texts, preference.mobile) == (True, "+447400900123")
    page = host_client.get("/host/notifications/").content.decode()
    assert re.search(r'value="both"[^>]*checked', page) and 'value="+447400900123"' in page
    response = host_client.post("/host/notifications/", {"each": "text", "email": host.email,
                                                          "mobile": "+447400900123"})
    assert response.status_code == 302
    assert HostEmailPreference.objects.get(host=host).notify == "off" and HostSmsPreference.objects.get(host=host).texts


@pytest.mark.parametrize(("posted", "field", "message"), [
    ({"each": "text", "mobile": "0114 222 2000"}, "mobile", "Give a UK mobile number, like 07400 123456."),
    ({"each": "both", "mobile": ""}, "mobile", "Give the mobile to text."),
    ({"each": "email", "digest": "on"}, "digest", "The daily email replaces the emails each time: choose one of them."),
])
def test_the_settings_page_names_the_field_that_is_wrong_and_saves_nothing(host_client, host, posted, field, message):
    from notify.email.models import HostEmailPreference
    from notify.sms.models import HostSmsPreference

    response = host_client.post("/host/notifications/", {"email": host.email, **posted})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and f'href="#id_{field}"' in page  # in the summary, linked to its field
    assert not HostEmailPreference.objects.filter(host=host).exists()
    assert not HostSmsPreference.objects.filter(host=host).exists()


# ---- proving the host's mobile ------------------------------------------------------------------------------

def _code_texted(host) -> str:
    body = SmsMessage.objects.filter(host=host, kind="host_code").order_by("-id").values_list("body", flat=True)[0]
    return re.search(r"code (\d{6})", body).group(1)


def _save_texts(host_client, host, mobile="07400 900123"):
    return host_client.post("/host/notifications/", {"each": "text", "email": host.email, "mobile": mobile},
                            follow=True)


def test_a_new_mobile_is_texted_a_code_and_the_page_asks_for_it(host_client, host):
    from notify.sms.models import HostSmsPreference

    page = _save_texts(host_client, host).content.decode()
    assert "We have texted a code to 07*** ***123" in page
    assert "Prove your mobile" in page and 'autocomplete="one-time-code"' in page
    assert '<label for="id_code">The 6-digit code we texted to your mobile' in page
    assert "Send me a new code" in page and "is not proven yet" in page
    [code] = SmsMessage.objects.filter(host=host, kind="host_code")
    assert code.to == "+447400900123" and "Aisha" not in code.body
    assert HostSmsPreference.objects.get(host=host).mobile_proven_at is None


def test_an_unproven_mobile_gets_no_text_when_someone_books(host_client, host, slot):
    _save_texts(host_client, host)
    book(slot, 1)
    [text] = SmsMessage.objects.filter(host=host, kind="host_booked")
    assert (text.status, text.skip_reason) == ("skipped", "mobile_unproven")


def test_a_wrong_code_is_shown_by_its_field_and_counts_a_try(host_client, host):
    from notify.sms.models import HostMobileProof

    _save_texts(host_client, host)
    wrong = "000000" if _code_texted(host) != "000000" else "111111"
    response = host_client.post("/host/notifications/code/", {"code": wrong})
    assert response.status_code == 200
    page = response.content.decode()
    assert "That code is not right. Not the code we sent: 4 tries left." in page
    assert 'href="#id_code"' in page and 'aria-invalid="true"' in page
    assert "Prove your mobile" in page and 'value="text"' in page  # the same page, the settings form below
    assert HostMobileProof.objects.get(host=host).attempts == 1


def test_an_expired_code_is_refused_on_the_page(host_client, host):
    from notify.sms.models import HostMobileProof, HostSmsPreference

    _save_texts(host_client, host)
    HostMobileProof.objects.filter(host=host).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = host_client.post("/host/notifications/code/", {"code": _code_texted(host)}).content.decode()
    assert "That code has expired: ask for a new one." in page
    assert HostSmsPreference.objects.get(host=host).mobile_proven_at is None


def test_the_right_code_proves_the_mobile_and_then_bookings_are_texted(host_client, host, slot):
    _save_texts(host_client, host)
    response = host_client.post("/host/notifications/code/", {"code": _code_texted(host)}, follow=True)
    page = response.content.decode()
    assert "Your mobile is proven" in page and "07*** ***123 is proven" in page
    assert "Prove your mobile" not in page
    book(slot, 1)
    [text] = SmsMessage.objects.filter(host=host, kind="host_booked")
    assert (text.status, text.skip_reason, text.to) == ("pending", "", "+447400900123")  # sent on commit


def test_a_new_code_can_be_asked_for_and_the_old_one_stops_working(host_client, host):
    _save_texts(host_client, host)
    old = _code_texted(host)
    page = host_client.post("/host/notifications/code/new/", follow=True).content.decode()
    assert "We have texted a new code to 07*** ***123." in page
    assert SmsMessage.objects.filter(host=host, kind="host_code").count() == 2
    if _code_texted(host) != old:
        assert "That code is not right." in host_client.post("/host/notifications/code/", {"code": old}).content.decode()


def test_asking_for_codes_too_often_says_so_on_the_page(host_client, host, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "host_code_send": "2/h"}
    _save_texts(host_client, host)
    host_client.post("/host/notifications/code/new/")
    page = host_client.post("/host/notifications/code/new/", follow=True).content.decode()
    assert "Too many codes asked for" in page
    assert SmsMessage.objects.filter(host=host, kind="host_code").count() == 2


def test_the_code_pages_are_for_signed_in_hosts_and_posts_only(host, host_client):
    assert Client().post("/host/notifications/code/", {"code": "123456"}).status_code == 302
    assert host_client.get("/host/notifications/code/").status_code == 405
    assert host_client.get("/host/notifications/code/new/").status_code == 405


def test_the_settings_page_offers_the_daily_digest_by_text(host_client, host):
    from notify.sms.models import HostSmsPreference

    page = host_client.get("/host/notifications/").content.decode()
    assert "One text a day instead" in page
    response = host_client.post("/host/notifications/", {"each": "text", "digest_text": "on", "email": host.email,
                                                          "mobile": "07400 900123"})
    page = response.content.decode()
    assert "The daily text replaces the texts each time" in page and 'href="#id_digest_text"' in page
    assert not HostSmsPreference.objects.filter(host=host).exists()
    page = host_client.post("/host/notifications/", {"each": "email", "digest_text": "on", "email": host.email,
                                                      "mobile": "07400 900123"}, follow=True).content.decode()
    preference = HostSmsPreference.objects.get(host=host)
    assert (preference.texts, preference.digest, preference.mobile_proven_at) == (False, True, None)
    assert "Prove your mobile" in page and re.search(r'name="digest_text"[^>]*checked', page)
