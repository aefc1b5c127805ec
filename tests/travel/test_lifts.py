"""Lifts (issue 24): a proven volunteer with a place offers seats from a public pickup point; riders on the same
slot ask; only an accepted rider and their driver learn each other's first name and the pickup point, by relayed
texts and on their pages; a lift ends with its driver's place; a car never takes more riders than its seats."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from core.errors import Conflict, InvalidInput, InvalidState, NotFound, PermissionDenied
from notify.sms.models import SmsMessage
from tests.factories import PostcodeFactory, SlotFactory, UserFactory, book
from travel import selectors, services
from travel.models import LiftDisclosure, LiftOffer, LiftRequest
from volunteers.services import booking_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot():
    PostcodeFactory(postcode="S10 1AA", lat=53.38, lng=-1.50)
    PostcodeFactory(postcode="S6 2AB", lat=53.40, lng=-1.52)
    PostcodeFactory(postcode="S1 4GT", lat=53.38, lng=-1.47)
    return SlotFactory(capacity=10)


def _offer(booking, **overrides):
    fields = {"seats": 2, "pickup_kind": "station", "pickup_label": "Sheffield station, front entrance",
              "pickup_postcode": "S1 4GT", "departs_at": booking.slot.starts_at - timedelta(minutes=40)}
    return services.offer_create(manage_token=booking.manage_token, **{**fields, **overrides})


def test_a_rider_sees_the_pickup_point_and_the_drivers_name_only_once_accepted(slot):
    driver = book(slot, name="Dana Driver", postcode="S10 1AA", proven=True)
    rider = book(slot, name="Rhys Rider", postcode="S6 2AB", proven=True)
    offer = _offer(driver)
    listed = selectors.offers_listed(slot_id=slot.pk, near=(53.40, -1.52), not_volunteer_id=rider.volunteer_id)
    assert [(o.token, o.district, o.seats_left) for o in listed] == [(offer.token, "S1", 2)]
    assert not hasattr(listed[0], "pickup_label")  # district, time and seats left only

    request = services.request_create(manage_token=rider.manage_token, offer_token=offer.token)
    before = selectors.lift_of_booking(booking=rider, path="page.manage")
    assert before.pickup is None and before.driver_first_name == ""
    asked = SmsMessage.objects.get(booking=driver, kind="lift_requested")
    assert "S6 area" in asked.body and "Rhys" not in asked.body and rider.volunteer.phone not in asked.body
    driver_view = selectors.lift_of_booking(booking=driver, path="page.manage")
    assert [(r.district, r.first_name) for r in driver_view.requests] == [("S6", "")]

    services.request_answer(manage_token=driver.manage_token, request_token=request.token, accept=True)
    after = selectors.lift_of_booking(booking=rider, path="page.manage")
    assert after.driver_first_name == "Dana" and after.pickup.pickup_label == "Sheffield station, front entrance"
    told = SmsMessage.objects.get(booking=rider, kind="lift_accepted").body
    assert "Dana" in told and "Sheffield station" in told and driver.volunteer.phone not in told
    assert "Rhys" in SmsMessage.objects.get(booking=driver, kind="lift_rider_joined").body
    assert set(LiftDisclosure.objects.values_list("path", "shown")) == {
        ("page.manage", "pickup"), ("sms.lift_accepted", "pickup"), ("sms.lift_rider_joined", "rider")}
    assert selectors.lift_of_booking(booking=driver, path="page.manage").requests[0].first_name == "Rhys"


def test_a_link_preview_sees_no_names_and_records_nothing(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    request = services.request_create(manage_token=rider.manage_token, offer_token=_offer(driver).token)
    services.request_answer(manage_token=driver.manage_token, request_token=request.token, accept=True)
    LiftDisclosure.objects.all().delete()
    seen = selectors.lift_of_booking(booking=rider, path="page.manage", automatic=True)
    assert seen.pickup is None and seen.driver_first_name == "" and not LiftDisclosure.objects.exists()


def test_the_driver_cancelling_tells_each_rider_who_keeps_their_place(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    riders = [book(slot, postcode="S6 2AB", proven=True) for _ in range(2)]
    offer = _offer(driver)
    first = services.request_create(manage_token=riders[0].manage_token, offer_token=offer.token)
    services.request_create(manage_token=riders[1].manage_token, offer_token=offer.token)
    services.request_answer(manage_token=driver.manage_token, request_token=first.token, accept=True)
    booking_cancel(manage_token=driver.manage_token)  # the driver's place ends: so does the lift
    offer.refresh_from_db()
    assert offer.status == LiftOffer.Status.CANCELLED
    assert set(LiftRequest.objects.values_list("status", flat=True)) == {LiftRequest.Status.OFFER_CANCELLED}
    for rider in riders:
        rider.refresh_from_db()
        assert rider.status == "confirmed"
        assert "Your place is kept" in SmsMessage.objects.get(booking=rider, kind="lift_cancelled").body


def test_a_rider_who_cancels_frees_the_seat_and_the_driver_is_told(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    offer = _offer(driver, seats=1)
    request = services.request_create(manage_token=rider.manage_token, offer_token=offer.token)
    services.request_answer(manage_token=driver.manage_token, request_token=request.token, accept=True)
    booking_cancel(manage_token=rider.manage_token)
    assert SmsMessage.objects.filter(booking=driver, kind="lift_rider_left").count() == 1
    assert selectors.offers_listed(slot_id=slot.pk)[0].seats_left == 1


def test_a_car_never_takes_more_riders_than_its_seats_even_answered_at_once(slot, transactional_db):
    driver = book(slot, postcode="S10 1AA", proven=True)
    offer = _offer(driver, seats=1)
    requests = [services.request_create(manage_token=book(slot, postcode="S6 2AB", proven=True).manage_token,
                                        offer_token=offer.token) for _ in range(4)]
    barrier, outcomes = threading.Barrier(len(requests)), []

    def answer(request):
        try:
            barrier.wait()
            services.request_answer(manage_token=driver.manage_token, request_token=request.token, accept=True)
            outcomes.append("accepted")
        except Conflict:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "full", "full", "full"]
    assert LiftRequest.objects.filter(status=LiftRequest.Status.ACCEPTED).count() == 1


def test_answering_twice_is_one_answer_and_one_text(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    request = services.request_create(manage_token=rider.manage_token, offer_token=_offer(driver).token)
    for _ in range(2):
        services.request_answer(manage_token=driver.manage_token, request_token=request.token, accept=True)
    assert SmsMessage.objects.filter(kind="lift_accepted").count() == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"seats": 0}, "seats"), ({"seats": 9}, "seats"), ({"pickup_kind": "home"}, "pickup_kind"),
    ({"pickup_label": "12 Acacia Avenue"}, "pickup_label"), ({"pickup_label": "Flat 3, the Towers"}, "pickup_label"),
    ({"pickup_label": ""}, "pickup_label"), ({"pickup_postcode": "ZZ99 9ZZ"}, "pickup_postcode"),
])
def test_a_bad_offer_names_the_field_and_writes_nothing(slot, overrides, field):
    driver = book(slot, postcode="S10 1AA", proven=True)
    with pytest.raises(InvalidInput) as raised:
        _offer(driver, **overrides)
    assert field in raised.value.fields
    assert not LiftOffer.objects.exists()


def test_an_offer_leaves_before_the_session_and_not_hours_before(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    for departs in (slot.starts_at, slot.starts_at - timedelta(hours=5)):
        with pytest.raises(InvalidInput) as raised:
            _offer(driver, departs_at=departs)
        assert "departs_at" in raised.value.fields


def test_only_a_proven_confirmed_place_offers_or_asks(slot):
    unproven = book(slot, postcode="S10 1AA")
    with pytest.raises(InvalidState):
        _offer(unproven)
    driver = book(slot, postcode="S10 1AA", proven=True)
    offer = _offer(driver)
    with pytest.raises(InvalidState):
        services.request_create(manage_token=unproven.manage_token, offer_token=offer.token)
    with pytest.raises(InvalidState):
        services.request_create(manage_token=driver.manage_token, offer_token=offer.token)  # own lift
    other_slot = SlotFactory(session=slot.session, starts_at=slot.starts_at + timedelta(hours=3),
                             ends_at=slot.ends_at + timedelta(hours=3))
    elsewhere = book(other_slot, postcode="S6 2AB", proven=True)
    with pytest.raises(NotFound):
        services.request_create(manage_token=elsewhere.manage_token, offer_token=offer.token)


def test_an_invite_only_lift_is_listed_to_nobody_and_taken_only_with_its_invite(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    offer = _offer(driver, invite_only=True)
    assert selectors.offers_listed(slot_id=slot.pk) == [] and selectors.lift_counts([slot.pk]) == {}
    with pytest.raises(NotFound):
        services.request_create(manage_token=rider.manage_token, offer_token=offer.token)
    assert [o.token for o in selectors.offers_listed(slot_id=slot.pk, invite_token=offer.invite_token)] == [offer.token]
    services.request_create(manage_token=rider.manage_token, offer_token=offer.token, invite_token=offer.invite_token)


def test_a_rider_asking_for_a_woman_driver_sees_only_women_drivers(slot):
    woman = _offer(book(slot, postcode="S10 1AA", proven=True), woman_driver=True)
    _offer(book(slot, postcode="S10 1AA", proven=True))
    assert [o.token for o in selectors.offers_listed(slot_id=slot.pk, woman_only=True)] == [woman.token]
    assert len(selectors.offers_listed(slot_id=slot.pk)) == 2


def test_a_blocked_volunteer_can_neither_offer_nor_ask_and_their_lift_ends(slot):
    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    offer = _offer(driver)
    services.request_create(manage_token=rider.manage_token, offer_token=offer.token)
    services.volunteer_block(volunteer_id=driver.volunteer_id, user=UserFactory(), reason="Reported by a rider")
    offer.refresh_from_db()
    assert offer.status == LiftOffer.Status.CANCELLED
    assert SmsMessage.objects.filter(booking=rider, kind="lift_cancelled").exists()
    with pytest.raises(PermissionDenied):
        _offer(driver)


def test_lift_acts_count_against_the_phones_booking_limit(slot, settings):
    driver = book(slot, postcode="S10 1AA", proven=True)  # one hit of booking_phone
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking_phone": "2/h"}
    from core.errors import RateLimited

    _offer(driver)
    services.offer_cancel(manage_token=driver.manage_token)
    with pytest.raises(RateLimited):
        _offer(driver)


def test_a_volunteers_data_export_has_their_lifts_without_the_links_tokens(slot):
    from volunteers.privacy import volunteer_data_export

    driver = book(slot, postcode="S10 1AA", proven=True)
    offer = _offer(driver)
    export = volunteer_data_export(volunteer=driver.volunteer)
    assert export["lift_offers"][0]["pickup_label"] == "Sheffield station, front entrance"
    assert offer.token not in str(export) and offer.invite_token not in str(export)


def test_erasing_a_driver_ends_their_lift_and_blanks_its_pickup(slot):
    from volunteers.privacy import volunteer_personal_data_erase

    driver = book(slot, postcode="S10 1AA", proven=True)
    rider = book(slot, postcode="S6 2AB", proven=True)
    offer = _offer(driver)
    services.request_create(manage_token=rider.manage_token, offer_token=offer.token)
    volunteer_personal_data_erase(volunteer_id=driver.volunteer_id)
    offer.refresh_from_db()
    assert offer.status == LiftOffer.Status.CANCELLED and offer.pickup_label == ""
    assert SmsMessage.objects.filter(booking=rider, kind="lift_cancelled").exists()


def test_a_party_sees_only_the_cars_with_a_seat_for_each_of_them(slot):
    small = _offer(book(slot, postcode="S10 1AA", proven=True), seats=2)
    big = _offer(book(slot, postcode="S10 1AB", proven=True), seats=3)
    assert {o.token for o in selectors.offers_listed(slot_id=slot.pk, seats_needed=3)} == {big.token}
    assert {o.token for o in selectors.offers_listed(slot_id=slot.pk, seats_needed=1)} == {small.token, big.token}
