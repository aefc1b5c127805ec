"""Campaign consent and the consent ledger (issue 25): given with a proven phone only, withdrawn by STOP, by an
email's unsubscribe link and by the campaign link, every grant and withdrawal recorded, exportable for an ICO
request, and pseudonymous after erasure."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from notify.email.services import email_unsubscribe
from notify.email.services.unsubscribe import volunteer_token
from notify.sms.services.replies import inbound_handle
from tests.api.conftest import booking_body
from tests.factories import OrganiserScopeFactory, SlotFactory, UserFactory, VolunteerFactory, texted_code
from volunteers.consent import CONSENT_CAMPAIGN_VERSION
from volunteers.consent_ledger import campaign_consent_set, campaign_token
from volunteers.models import ConsentRecord, Volunteer
from volunteers.privacy import volunteer_personal_data_erase

pytestmark = pytest.mark.django_db


def ledger(volunteer) -> list[tuple]:
    return list(ConsentRecord.objects.filter(volunteer=volunteer).order_by("at", "id")
                .values_list("kind", "channel", "action", "how"))


def _book(api, slot, **extra) -> dict:
    asked = api.post(f"/api/slots/{slot.id}/bookings/", booking_body(**extra), format="json")
    assert asked.status_code == 202, asked.content
    return asked.json()


@pytest.fixture
def slot(postcode):
    return SlotFactory(session__meeting_point__seat=postcode.seat)


def test_campaign_consent_counts_only_once_the_phone_is_proven_and_is_in_the_ledger(slot, locmem_sms):
    api_client = APIClient()
    token = _book(api_client, slot, consent_campaign=True)["challenge"]
    volunteer = Volunteer.objects.get(phone="+447400123456")
    assert not volunteer.consent_campaign and ledger(volunteer) == []  # a stranger may have typed the number
    proven = api_client.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    assert proven.status_code == 200, proven.content
    volunteer.refresh_from_db()
    assert volunteer.consent_campaign and volunteer.consent_campaign_version == CONSENT_CAMPAIGN_VERSION
    assert volunteer.consent_campaign_at is not None
    assert ledger(volunteer) == [("service", "sms", "given", "api"), ("campaign", "all", "given", "api")]


def test_unticked_campaign_box_gives_nothing_and_the_schema_documents_it(slot, locmem_sms):
    api_client = APIClient()
    token = _book(api_client, slot)["challenge"]
    api_client.post(f"/api/challenges/{token}/verify/", {"code": texted_code(token)}, format="json")
    volunteer = Volunteer.objects.get(phone="+447400123456")
    assert not volunteer.consent_campaign
    assert ("campaign", "all", "given", "api") not in ledger(volunteer)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "consent_campaign" in schema["components"]["schemas"]["BookingCreateRequest"]["properties"]


def test_stop_withdraws_texts_and_campaign_consent_and_start_gives_back_only_texts(locmem_sms):
    volunteer = VolunteerFactory(phone="+447400100200", name="Jo", consent_sms=True)
    campaign_consent_set(volunteer_id=volunteer.pk, given=True, how="form")
    inbound_handle(from_phone=volunteer.phone, body="STOP")
    volunteer.refresh_from_db()
    assert volunteer.sms_opted_out and not volunteer.consent_campaign
    inbound_handle(from_phone=volunteer.phone, body="start")
    volunteer.refresh_from_db()
    assert not volunteer.sms_opted_out and not volunteer.consent_campaign
    assert ledger(volunteer) == [
        ("campaign", "all", "given", "form"), ("service", "sms", "withdrawn", "stop"),
        ("campaign", "all", "withdrawn", "stop"), ("service", "sms", "given", "start")]


def test_an_email_unsubscribe_withdraws_campaign_consent_by_every_channel():
    volunteer = VolunteerFactory(phone="+447400100201", name="Jo", consent_sms=True, email="jo@example.org",
                                 consent_email=True)
    campaign_consent_set(volunteer_id=volunteer.pk, given=True, how="form")
    email_unsubscribe(token=volunteer_token(volunteer.pk))
    email_unsubscribe(token=volunteer_token(volunteer.pk))  # again: nothing more recorded
    volunteer.refresh_from_db()
    assert not volunteer.consent_campaign and volunteer.consent_sms
    assert ledger(volunteer)[1:] == [("service", "email", "withdrawn", "unsubscribe"),
                                     ("campaign", "all", "withdrawn", "unsubscribe")]


def test_the_campaign_link_withdraws_campaign_consent_only_after_a_button_press():
    volunteer = VolunteerFactory(phone="+447400100202", name="Jo", consent_sms=True)
    campaign_consent_set(volunteer_id=volunteer.pk, given=True, how="api")
    client = Client()
    url = f"/c/{campaign_token(volunteer.pk)}/"
    page = client.get(url)  # a link scanner opening it changes nothing
    assert page.status_code == 200 and b"Stop calls to action" in page.content
    volunteer.refresh_from_db()
    assert volunteer.consent_campaign
    done = client.post(url, {"confirm": "True"})
    assert done.status_code == 200 and b"No more calls to action" in done.content
    volunteer.refresh_from_db()
    assert not volunteer.consent_campaign and volunteer.consent_sms
    assert ledger(volunteer)[-1] == ("campaign", "all", "withdrawn", "link")
    # Another volunteer's id with a forged signature, or junk: the same 404.
    assert client.get(f"/c/c{volunteer.pk + 1}.{campaign_token(volunteer.pk).split('.')[1]}/").status_code == 404
    assert client.post("/c/c1.notavalidsignature/", {"confirm": "True"}).status_code == 404


def test_the_ledger_exports_as_csv_and_stays_pseudonymous_after_erasure(client, settings):
    volunteer = VolunteerFactory(phone="+447400100203", name="Priya Patel", consent_sms=True,
                                 email="priya@example.org", consent_email=True)
    campaign_consent_set(volunteer_id=volunteer.pk, given=True, how="form")
    assert volunteer_personal_data_erase(volunteer_id=volunteer.pk)
    out = io.StringIO()
    call_command("export_consent_ledger", stdout=out, stderr=io.StringIO())
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["volunteer_id", "kind", "channel", "action", "version", "how", "at"]
    mine = [row for row in rows[1:] if row[0] == str(volunteer.pk)]
    assert [(row[1], row[2], row[3], row[5]) for row in mine] == [
        ("campaign", "all", "given", "form"), ("service", "sms", "withdrawn", "erased"),
        ("service", "email", "withdrawn", "erased"), ("campaign", "all", "withdrawn", "erased")]
    assert "Priya" not in out.getvalue() and "+447400100203" not in out.getvalue()
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    response = client.get("/coordinate/exports/consent-ledger.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert b"campaign,all,given" in b"".join(response.streaming_content)


def test_a_regional_organiser_cannot_export_the_ledger(client, seat):

    organiser = UserFactory(is_staff=True)
    OrganiserScopeFactory(user=organiser, regions=[seat.region])
    client.force_login(organiser)
    assert client.get("/coordinate/exports/consent-ledger.csv").status_code == 403


def _code_for(phone: str) -> str:
    from notify.sms.models import SmsMessage

    body = SmsMessage.objects.filter(to=phone, kind="phone_code").order_by("-id").values_list("body", flat=True)[0]
    return re.search(r"code (\d{6})", body).group(1)


def test_the_booking_page_box_is_unticked_and_a_ticked_one_counts_after_the_code(client, slot, locmem_sms):
    page = client.get(f"/s/{slot.session_id}/book/?slot={slot.pk}").content.decode()
    assert 'name="consent_campaign"' in page and "Also send me calls to action" in page
    assert not re.search(r'name="consent_campaign"[^>]*checked', page)
    asked = client.post(f"/s/{slot.session_id}/book/?slot={slot.pk}", {
        "name": "Ada Lovelace", "phone": "07400 900555", "postcode": "S10 1AA", "consent_sms": "on",
        "consent_campaign": "on"})
    assert asked.status_code == 302, asked.content.decode()[:500]
    volunteer = Volunteer.objects.get(phone="+447400900555")
    assert not volunteer.consent_campaign
    assert client.post(asked["Location"], {"code": _code_for(volunteer.phone)}).status_code == 302
    volunteer.refresh_from_db()
    assert volunteer.consent_campaign
    assert ("campaign", "all", "given", "form") in ledger(volunteer)


def test_my_messages_gives_and_withdraws_campaign_consent_on_a_remembered_device(client, locmem_sms):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from volunteers.devices import device_remember
    from web.volunteer.devices import COOKIE, device_cookie_set

    volunteer = VolunteerFactory(phone="+447400100204", name="Jo", consent_sms=True)
    assert client.get("/my/messages/").status_code == 302  # no remembered device: to /my/
    minted = HttpResponse()  # the cookie as the code page sets it
    device_cookie_set(minted, RequestFactory().get("/"), device_remember(volunteer_id=volunteer.pk))
    client.cookies[COOKIE] = minted.cookies[COOKIE].value
    assert b"Also send me calls to action" in client.get("/my/messages/").content
    assert client.post("/my/messages/", {"consent_campaign": "on"}).status_code == 302
    volunteer.refresh_from_db()
    assert volunteer.consent_campaign
    client.post("/my/messages/", {})
    volunteer.refresh_from_db()
    assert not volunteer.consent_campaign
    assert ledger(volunteer) == [("campaign", "all", "given", "form"), ("campaign", "all", "withdrawn", "form")]
