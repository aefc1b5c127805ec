"""A booking's private link: reading it, proving the phone by it, changing one's details through it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, NotFound
from seats.geocoding import postcode_locate
from volunteers.code_check import LINK_RELATED
from volunteers.events import booking_proven_announce
from volunteers.identity.common import PLACELESS
from volunteers.models import Booking, Volunteer
from volunteers.services import booking_proven_place, consent_email_fields, consent_fields


def booking_by_link(*, manage_token: str) -> Booking:
    """The booking behind a private link, with its slot, session, meeting point and volunteer, as it stands.
    Reading it proves nothing: mail and SMS scanners and messaging apps open texted links before (or instead
    of) the person, some with a browser's User-Agent. Raises NotFound."""
    return _booking_by_link(manage_token)


def booking_prove_by_link(*, manage_token: str) -> Booking:
    """The holder of a private link says that the phone it was texted to is theirs (a deliberate act: the
    page's "this is my phone" button, a POST): the booking and the volunteer's phone are marked proven, and
    booking_proven is sent once. Applies nothing the request said (that waits for the code). Idempotent.
    Raises NotFound."""
    booking = _booking_by_link(manage_token)
    if booking.proven_at is None or booking.volunteer.phone_verified_at is None:
        now = timezone.now()
        if booking.proven_at is None:
            with transaction.atomic():
                Volunteer.objects.select_for_update().filter(pk=booking.volunteer_id).first()  # first, as ever
                if Booking.objects.filter(pk=booking.pk, proven_at__isnull=True).update(proven_at=now, updated_at=now):
                    booking.proven_at = now
                    booking_proven_announce(booking=booking)
                    if booking.status in PLACELESS and booking_proven_place(booking_id=booking.pk):
                        booking = _booking_by_link(manage_token)
            booking.proven_at = now
        if booking.volunteer.phone_verified_at is None:
            Volunteer.objects.filter(pk=booking.volunteer_id, phone_verified_at__isnull=True).update(
                phone_verified_at=now)
            booking.volunteer.phone_verified_at = now
    return booking


def _booking_by_link(manage_token: str) -> Booking:
    booking = (Booking.objects.select_related(*LINK_RELATED).filter(manage_token=manage_token).first()
               if manage_token and len(manage_token) <= 64 else None)
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking


ADDRESS_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.ATTENDED)


def booking_shows_address(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether the booking's own view shows the exact address, meeting place, host's first name and turf: a place
    (confirmed or attended) on a slot that has not ended, the phone proven, and the host's approval if asked."""
    return (booking.status in ADDRESS_STATUSES and booking.proven_at is not None
            and booking.approval in (Booking.Approval.NOT_REQUIRED, Booking.Approval.APPROVED)
            and booking.slot.ends_at > (now or timezone.now()))


def booking_details_update(*, manage_token: str, name: str | None = None, email: str | None = None,
                           postcode: str | None = None, consent_sms: bool | None = None,
                           consent_email: bool | None = None) -> Booking:
    """The holder of a private link changes their own details (fields left None stay). Sending them through the
    link (a POST) is as deliberate as booking_prove_by_link, so the booking is marked proven too. Raises
    NotFound, InvalidInput naming the field."""
    location = postcode_locate(postcode) if postcode else None
    if name is not None and not name.strip():
        raise InvalidInput(gettext("Give your name."), fields={"name": [gettext("Required.")]})
    with transaction.atomic():
        booking = _booking_by_link(manage_token)
        volunteer = Volunteer.objects.select_for_update().get(pk=booking.volunteer_id)
        now = timezone.now()
        changes: dict = {}
        if name is not None:
            changes["name"] = name.strip()
        if email is not None:
            changes["email"] = email
        if location is not None:
            changes.update(postcode=location.postcode, lat=location.lat, lng=location.lng, seat_id=location.seat_id)
        if consent_sms is not None and consent_sms != volunteer.consent_sms:
            changes.update(consent_fields(consent_sms=consent_sms, now=now))
        if consent_email is not None and (consent_email != volunteer.consent_email
                                          or (consent_email and volunteer.email_opted_out_at is not None)):
            changes.update(consent_email_fields(consent_email=consent_email, now=now))
        if volunteer.phone_verified_at is None:
            changes["phone_verified_at"] = now
        for field, value in changes.items():
            setattr(volunteer, field, value)
        if changes:
            volunteer.save(update_fields=[*changes, "updated_at"])
        if Booking.objects.filter(pk=booking.pk, proven_at__isnull=True).update(proven_at=now, updated_at=now):
            booking_proven_announce(booking=_booking_by_link(manage_token))
            booking_proven_place(booking_id=booking.pk)
    return _booking_by_link(manage_token)
