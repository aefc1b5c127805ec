"""A request keeps its language on what it makes (core.languages), whichever statement writes the rows, and a phone's
language is that of its latest request (volunteers.selectors): replies and assignments use it."""

import pytest
from django.utils import translation

from tests.factories import SlotFactory, book, next_mobile
from volunteers.models import Booking, PhoneChallenge
from volunteers.selectors import volunteer_language, volunteer_languages

pytestmark = pytest.mark.django_db


def test_a_request_in_welsh_makes_a_welsh_booking_and_code_and_the_phone_follows_its_latest_request(postcode):
    phone = next_mobile()
    first, second = (SlotFactory(session__meeting_point__postcode=postcode.postcode) for _ in range(2))
    assert volunteer_language(phone=phone) == "en-gb"  # a phone we never heard from: the default
    with translation.override("cy"):
        welsh = book(first, phone)  # a new phone: the one-statement insert (volunteers.services)
    assert (welsh.language, PhoneChallenge.objects.get(booking=welsh).language) == ("cy", "cy")
    assert volunteer_language(phone=phone) == "cy"
    assert volunteer_languages(volunteer_ids=[welsh.volunteer_id]) == {welsh.volunteer_id: "cy"}
    english = book(second, phone)  # a known phone, in English this time
    assert english.language == "en-gb" and Booking.objects.get(pk=welsh.pk).language == "cy"
    assert volunteer_language(phone=phone) == "en-gb"
    assert volunteer_languages(volunteer_ids=[welsh.volunteer_id]) == {welsh.volunteer_id: "en-gb"}


def test_a_language_we_do_not_speak_is_stored_as_the_default(postcode):
    with translation.override("fr"):
        booking = book(SlotFactory(session__meeting_point__postcode=postcode.postcode))
    assert booking.language == "en-gb"
