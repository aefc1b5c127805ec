"""Every state a booking can be in says what is true on its private page, and offers the one action that fits
(issue 22): no "the exact address shows once your place is confirmed" on a cancelled, moved, refused or
waitlisted booking; a declined redirect loses its button, and pressing it again answers honestly."""

import html
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import OverflowMove
from tests.factories import (
    BookingEventFactory,
    BookingFactory,
    CanvassSessionFactory,
    OverflowMoveFactory,
    SlotFactory,
    VolunteerFactory,
)
from tests.web.volunteer_data import VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking, BookingEvent, Volunteer
from web.volunteer.confirmations import told_times
from web.volunteer.states import Action, State, booking_told

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("promotion_offers")]

Status = Booking.Status
_phones = itertools.count(100)


@pytest.fixture
def area():
    return neighbourhood()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _volunteer() -> Volunteer:
    return VolunteerFactory(phone=f"+4774009{next(_phones):05d}", name="Ada Lovelace",
                            postcode=VOLUNTEER_POSTCODE, lat=53.381, lng=-1.49, consent_sms=True)


def _booking(slot, status=Status.CONFIRMED, *, proven=True, volunteer=None, **fields) -> Booking:
    now = timezone.now()
    if not proven:
        fields.setdefault("held_since", now)
        fields.setdefault("held_until", now + timedelta(minutes=15))
    return BookingFactory(volunteer=volunteer or _volunteer(), slot=slot, status=status,
                          proven_at=now if proven else None, **fields)


def _ended(booking: Booking, kind: str, **payload) -> Booking:
    booking.status = Status.CANCELLED
    booking.version += 1
    booking.cancelled_at = timezone.now()
    booking.save()
    BookingEventFactory(booking=booking, kind=kind, version=booking.version, payload=payload)
    return booking


def _past_slot(area):
    now = timezone.now()
    return SlotFactory(session=area.started_session, starts_at=now - timedelta(hours=3),
                       ends_at=now - timedelta(hours=1))


def _redirect(area, *, declined=False) -> tuple[Booking, Booking]:
    volunteer = _volunteer()
    old = _booking(area.full_slot, Status.REDIRECTED, volunteer=volunteer, waitlisted_at=timezone.now())
    new = _booking(area.other_slot, Status.CANCELLED if declined else Status.CONFIRMED, volunteer=volunteer,
                   source=Booking.Source.REDIRECT)
    if declined:
        old.status = Status.WAITLISTED
    else:
        old.redirected_to = new
    old.save()
    OverflowMoveFactory(from_booking=old, to_booking=new, volunteer=volunteer, from_seat=area.hallam,
                        to_seat=area.central, ring=1, distance_km=3.2, trigger=OverflowMove.Trigger.WAITLIST,
                        declined_at=timezone.now() if declined else None)
    return old, new


def _moved(area) -> Booking:
    volunteer = _volunteer()
    new = _booking(area.other_slot, volunteer=volunteer)
    return _ended(_booking(area.slot, volunteer=volunteer), BookingEvent.Kind.CANCELLED, swapped_to=new.pk)


def _address_held(area, settings) -> Booking:
    settings.DISCLOSURE_MAX_ROOMS_PER_DAY = 0
    return _booking(area.slot)


def _asked_to_confirm(area) -> Booking:
    """A place tomorrow on a session that gives places nobody confirmed to the waitlist (issue 25)."""
    start = timezone.now() + timedelta(hours=20)
    session = CanvassSessionFactory(meeting_point=area.session.meeting_point, title="Tomorrow's doors",
                                    starts_at=start, ends_at=start + timedelta(hours=2), confirm_required=True)
    return _booking(SlotFactory(session=session, capacity=3))


BUILD = {
    State.OFFERED: lambda area, settings: _booking(area.slot, offer_expires_at=timezone.now() + timedelta(minutes=40)),
    State.OFFER_LAPSED: lambda area, settings: _ended(_booking(area.slot), BookingEvent.Kind.OFFER_LAPSED),
    State.CONFIRM_ASKED: lambda area, settings: _asked_to_confirm(area),
    State.UNCONFIRMED: lambda area, settings: _ended(_booking(area.slot), BookingEvent.Kind.UNCONFIRMED),
    State.REQUESTED: lambda area, settings: _booking(area.slot, proven=False),
    State.REQUESTED_WAITLIST: lambda area, settings: _booking(area.full_slot, Status.WAITLISTED, proven=False),
    State.LAPSED: lambda area, settings: _ended(_booking(area.slot, proven=False), BookingEvent.Kind.RELEASED),
    State.HELD: lambda area, settings: _booking(area.slot, Status.PENDING),
    State.AWAITING_HOST: lambda area, settings: _booking(area.slot, approval=Booking.Approval.PENDING),
    State.ADDRESS_HELD: _address_held,
    State.CONFIRMED: lambda area, settings: _booking(area.slot),
    State.WAITLISTED: lambda area, settings: _booking(area.full_slot, Status.WAITLISTED),
    State.REDIRECT_OFFERED: lambda area, settings: _redirect(area)[1],
    State.REDIRECTED: lambda area, settings: _redirect(area)[0],
    State.REDIRECT_DECLINED: lambda area, settings: _redirect(area, declined=True)[1],
    State.MOVED: lambda area, settings: _moved(area),
    State.CANCELLED: lambda area, settings: _ended(_booking(area.slot), BookingEvent.Kind.CANCELLED),
    State.SESSION_CANCELLED: lambda area, settings: _ended(_booking(area.slot), BookingEvent.Kind.SESSION_CANCELLED),
    State.REFUSED: lambda area, settings: _ended(_booking(area.slot, approval=Booking.Approval.REFUSED),
                                                BookingEvent.Kind.REFUSED),
    State.PAST: lambda area, settings: _booking(_past_slot(area)),
    State.PAST_NO_PLACE: lambda area, settings: _booking(_past_slot(area), Status.WAITLISTED),
    State.ATTENDED: lambda area, settings: _booking(_past_slot(area), Status.ATTENDED),
    State.NO_SHOW: lambda area, settings: _booking(_past_slot(area), Status.NO_SHOW),
}

# Where the address note is true: the place may still become theirs and show its address here.
ADDRESS_NOTES = {State.REQUESTED, State.REQUESTED_WAITLIST, State.HELD, State.AWAITING_HOST, State.ADDRESS_HELD,
                 State.WAITLISTED, State.OFFERED}


def test_every_state_is_covered():
    assert set(BUILD) == set(State)


@pytest.mark.parametrize("state", list(State))
def test_each_state_says_what_is_true_and_offers_the_action_that_fits(client, area, settings, state):
    booking = BUILD[state](area, settings)
    page = _text(client.get(f"/b/{booking.manage_token}"))
    told = booking_told(state, approval_needed=booking.approval == Booking.Approval.PENDING, **told_times(booking))
    assert f'class="status status-{state}"' in page, page[page.find('class="status'):][:300]
    assert told.says in page and told.badge in page
    if state not in ADDRESS_NOTES:
        assert "The exact address shows here" not in page
    if state != State.HELD:
        assert "once your place is confirmed" not in page
    token = booking.manage_token
    if told.action == Action.PROVE:
        assert f'action="/b/{token}/prove/"' in page
    else:
        assert f'action="/b/{token}/prove/"' not in page
    if told.action == Action.NOTHING and state != State.PAST:
        assert "Nothing to do" in page
    if told.action in (Action.ACCEPT_OFFER, Action.CONFIRM):
        assert f'action="/b/{token}/confirm/"' in page
    if told.action == Action.REBOOK:
        assert f'href="/s/{booking.slot.session_id}/"' in page and "Book again" in page
    if told.action == Action.LEAVE_WAITLIST:
        assert "Leave the waitlist" in page and "Cancel my place" not in page
    # Either end of an open move may turn it down.
    assert (f'action="/b/{token}/decline/"' in page) == (state in (State.REDIRECT_OFFERED, State.REDIRECTED))
    if told.action == Action.SEE_NEW_PLACE:
        assert "See your new place" in page
    if told.action == Action.SEE_FIRST_CHOICE:
        assert "See your first choice" in page
    if told.action == Action.FIND_ANOTHER:
        assert 'class="button">Find another session' in page
    if state in (State.CANCELLED, State.SESSION_CANCELLED, State.REFUSED, State.MOVED, State.LAPSED):
        assert "Cancel my place" not in page and "Leave the waitlist" not in page


def test_a_held_place_waiting_for_the_host_says_so(client, area):
    booking = _booking(area.slot, Status.PENDING, approval=Booking.Approval.PENDING)
    assert 'class="status status-awaiting_host"' in _text(client.get(f"/b/{booking.manage_token}"))


def test_declining_a_redirect_removes_the_button_from_both_places(client, area):
    old, new = _redirect(area)
    response = client.post(f"/b/{new.manage_token}/decline/", follow=True)
    page = _text(response)
    assert response.redirect_chain[-1][0] == f"/b/{old.manage_token}"
    assert "back on the waitlist of your first choice" in page
    assert "/decline/" not in page
    assert "/decline/" not in _text(client.get(f"/b/{new.manage_token}"))
    assert "You turned this place down" in _text(client.get(f"/b/{new.manage_token}"))


def test_pressing_decline_again_after_a_place_opened_says_they_are_booked(client, area):
    old, new = _redirect(area)
    client.post(f"/b/{new.manage_token}/decline/", follow=True)
    Booking.objects.filter(pk=old.pk).update(status=Status.CONFIRMED)  # promoted from the waitlist meanwhile
    page = _text(client.post(f"/b/{new.manage_token}/decline/", follow=True))
    assert "back on the waitlist" not in page
    assert "a place has opened on your first choice since: you're booked there" in page
