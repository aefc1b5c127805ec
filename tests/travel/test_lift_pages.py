"""The lifts part of a booking's private page, without JavaScript: offer, ask, accept, see where to meet, cancel."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notify.sms.models import SmsMessage
from tests.factories import PostcodeFactory, SlotFactory, book
from travel.models import LiftOffer, LiftRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot():
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50)
    PostcodeFactory(postcode="S6 2AB", lat=53.40, lng=-1.52)
    PostcodeFactory(postcode="S1 4GT", lat=53.38, lng=-1.47)
    start = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
    return SlotFactory(capacity=10, starts_at=start, ends_at=start + timedelta(hours=2),
                       session__starts_at=start, session__ends_at=start + timedelta(hours=2))


def _page(client, booking) -> str:
    return html.unescape(client.get(f"/b/{booking.manage_token}/lifts/").content.decode())


def _offer(client, driver, **overrides):
    return client.post(f"/b/{driver.manage_token}/lift/offer/", {
        "seats": "2", "pickup_kind": "station", "pickup_label": "Sheffield station, front entrance",
        "pickup_postcode": "S1 4GT", "departs": "10:15", **overrides})


def test_driver_offers_rider_asks_driver_accepts_rider_sees_where_to_meet(client, slot):
    driver = book(slot, name="Dana Driver", postcode="S10 1AA", proven=True)
    rider = book(slot, name="Rhys Rider", postcode="S6 2AB", proven=True)
    assert f'href="/b/{driver.manage_token}/lifts/"' in client.get(f"/b/{driver.manage_token}").content.decode()
    assert "offer a lift" in _page(client, driver)
    response = _offer(client, driver)
    assert response.status_code == 302
    assert "You offer a lift from Sheffield station, front entrance at 10:15: 2 seats left." in _page(client, driver)

    page = _page(client, rider)
    assert "From the S1 area at 10:15, 2 seats left" in page and "Sheffield station" not in page
    offer = LiftOffer.objects.get()
    client.post(f"/b/{rider.manage_token}/lift/ask/", {"offer": offer.token})
    assert "You asked for a seat" in _page(client, rider)
    driver_page = _page(client, driver)
    assert "A volunteer from the S6 area asks for a seat." in driver_page and "Rhys" not in driver_page

    token = re.search(r'name="request" value="([^"]+)"', driver_page).group(1)
    client.post(f"/b/{driver.manage_token}/lift/answer/", {"request": token, "accept": "yes"})
    assert "Rhys rides with you." in _page(client, driver)
    rider_page = _page(client, rider)
    assert "Dana gives you a lift. Meet at Sheffield station, front entrance (S1 4GT) at 10:15." in rider_page
    assert driver.volunteer.phone not in rider_page and rider.volunteer.phone not in _page(client, driver)

    client.post(f"/b/{driver.manage_token}/lift/cancel/")
    assert "Sheffield station" not in _page(client, rider)
    assert SmsMessage.objects.filter(booking=rider, kind="lift_cancelled").exists()
    rider.refresh_from_db()
    assert rider.status == "confirmed"


def test_a_bad_offer_names_its_fields_on_the_page_and_keeps_what_was_typed(client, slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    response = _offer(client, driver, pickup_label="12 Acacia Avenue", departs="06:00", pickup_postcode="ZZ99 9ZZ")
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "never a home address" in page and "no more than 4 hours before" in page
    assert "12 Acacia Avenue" in page and not LiftOffer.objects.exists()


def test_an_invite_code_pasted_on_the_page_asks_for_that_lift(client, slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    _offer(client, driver, invite_only="on")
    offer = LiftOffer.objects.get()
    assert offer.invite_token in _page(client, driver)
    assert "No lifts offered to this slot near you yet." in _page(client, rider)
    client.post(f"/b/{rider.manage_token}/lift/ask/", {"offer": "", "invite": offer.invite_token})
    assert LiftRequest.objects.get().booking == rider


def test_an_unproven_place_shows_no_lifts_and_cannot_offer(client, slot):
    unproven = book(slot, postcode="S10 1AA")
    assert 'id="lifts"' not in html.unescape(client.get(f"/b/{unproven.manage_token}").content.decode())
    assert "offer a lift" not in _page(client, unproven) and "for confirmed places only" in _page(client, unproven)
    _offer(client, unproven)
    assert not LiftOffer.objects.exists()


def test_a_link_preview_of_the_riders_page_shows_no_pickup_point(client, slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    _offer(client, driver)
    client.post(f"/b/{rider.manage_token}/lift/ask/", {"offer": LiftOffer.objects.get().token})
    client.post(f"/b/{driver.manage_token}/lift/answer/", {"request": LiftRequest.objects.get().token, "accept": "yes"})
    preview = client.get(f"/b/{rider.manage_token}/lifts/", HTTP_USER_AGENT="WhatsApp/2.23").content.decode()
    assert "Sheffield station" not in preview


def test_coordinators_see_lifts_per_seat_and_block_a_driver(client, slot):
    from tests.factories import UserFactory
    from travel.models import LiftBlock

    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    _offer(client, driver)
    client.post(f"/b/{rider.manage_token}/lift/ask/", {"offer": LiftOffer.objects.get().token})
    client.post(f"/b/{driver.manage_token}/lift/answer/", {"request": LiftRequest.objects.get().token, "accept": "yes"})
    coordinator = UserFactory(username="coord", is_staff=True)
    client.force_login(coordinator)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    page = html.unescape(client.get(f"/coordinate/lifts/?date={day}").content.decode())
    row = re.search(r"<td>" + re.escape(slot.session.seat.name) + r"</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r'class="num">(\d+)<', row) == ["2", "1", "1", "0"]  # by lift, offered, seats left, waiting
    assert driver.volunteer.phone not in page
    response = client.post("/coordinate/lifts/block/", {"offer": LiftOffer.objects.get().token, "reason": "Reported",
                                                        "date": day})
    assert response.status_code == 302
    assert LiftBlock.objects.get().volunteer_id == driver.volunteer_id
    assert SmsMessage.objects.filter(booking=rider, kind="lift_cancelled").exists()
