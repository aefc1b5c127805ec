"""The admin never shows a private link's token in full (a manage link, a dispatch token, a challenge or a calendar
feed opens someone's booking or data), and opening a booking's or a code challenge's page is audited, as a
volunteer's, a text's or an email's is (volunteers.privacy.personal_data_accessed_record)."""

import pytest

from dispatch.models import CoordinatorAction
from notify.sms.models import SmsMessage
from tests.factories import PhoneChallengeFactory, UserFactory
from tests.sms.factories import booking_make, slot_make, volunteer_make
from volunteers.feeds import calendar_feed_ensure, feed_token
from volunteers.models import PhoneChallenge

pytestmark = pytest.mark.django_db


def _viewed():
    return CoordinatorAction.objects.filter(kind="personal_data", params__action="viewed")


@pytest.fixture
def coordinator_client(client):
    client.force_login(UserFactory(username="coord", is_staff=True, is_superuser=True))
    return client


def _challenge(booking) -> PhoneChallenge:
    return PhoneChallengeFactory(volunteer=booking.volunteer, booking=booking, phone=booking.volunteer.phone,
                                 purpose=PhoneChallenge.Purpose.choices[0][0], code_hash="x", max_attempts=5,
                                 expires_at=booking.created_at)


@pytest.fixture
def booking():
    volunteer = volunteer_make(name="Priya Shah", phone="+447700900321")
    return booking_make(slot=slot_make(), volunteer=volunteer)


def test_admin_lists_and_pages_never_show_a_private_links_token(coordinator_client, booking):
    volunteer = booking.volunteer
    challenge = _challenge(booking)
    feed = calendar_feed_ensure(volunteer=volunteer)
    secrets = [booking.manage_token, volunteer.token, challenge.token, feed_token(feed)]
    text = SmsMessage.objects.filter(booking=booking).first()
    pages = ["/admin/volunteers/booking/", f"/admin/volunteers/booking/{booking.pk}/change/",
             "/admin/volunteers/volunteer/", f"/admin/volunteers/volunteer/{volunteer.pk}/change/",
             "/admin/volunteers/phonechallenge/", f"/admin/volunteers/phonechallenge/{challenge.pk}/change/",
             "/admin/volunteers/calendarfeed/", f"/admin/volunteers/calendarfeed/{feed.pk}/change/",
             "/admin/sms/smsmessage/", f"/admin/sms/smsmessage/{text.pk}/change/"]
    for page in pages:
        html = coordinator_client.get(page).content.decode()
        assert not [secret for secret in secrets if secret in html], page
    detail = coordinator_client.get(f"/admin/volunteers/booking/{booking.pk}/change/").content.decode()
    assert f"{booking.manage_token[:4]}••••" in detail  # enough to match a link someone reads out
    # Searching by the token a volunteer reads out still finds the booking.
    found = coordinator_client.get("/admin/volunteers/booking/", {"q": booking.manage_token}).content.decode()
    assert found.count(f"/admin/volunteers/booking/{booking.pk}/change/") == 1 and "0 results" not in found


def test_opening_a_booking_or_a_challenge_in_the_admin_is_audited(coordinator_client, booking):
    challenge = _challenge(booking)
    assert coordinator_client.get("/admin/volunteers/booking/").status_code == 200
    assert not _viewed().exists()  # lists show masked data: not audited
    pages = [(f"/admin/volunteers/booking/{booking.pk}/change/", {"where": "admin booking", "booking": booking.pk}),
             (f"/admin/volunteers/phonechallenge/{challenge.pk}/change/",
              {"where": "admin phone challenge", "challenge": challenge.pk})]
    for url, detail in pages:
        assert coordinator_client.get(url).status_code == 200
        entry = _viewed().latest("pk")
        assert entry.result == {"volunteers": [booking.volunteer_id]}
        assert {key: entry.params.get(key) for key in detail} == detail, url
    assert _viewed().count() == 2
