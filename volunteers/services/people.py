"""Volunteer rows: made from what a request says, consent fields, SMS flags, their upcoming bookings."""

from django.utils import timezone

from core.db import upsert_returning
from seats.geocoding import Location
from volunteers.consent import CONSENT_EMAIL_VERSION, CONSENT_SMS_VERSION
from volunteers.models import Booking, Volunteer
from volunteers.services.common import ACTIVE_STATUSES


def volunteer_get_or_create(*, phone: str, fields: dict) -> tuple[Volunteer, bool]:
    """The volunteer with this E.164 phone, locked until the transaction ends, created with `fields` if the
    phone is new; and whether this call created it.

    A stored volunteer's details are never changed here: only a proven phone changes them
    (volunteers.identity). Must run inside a transaction; concurrent calls never create two rows.
    """
    # ON CONFLICT DO UPDATE SET phone = phone: a no-op update that locks and returns the stored row.
    return upsert_returning(Volunteer(phone=phone, **fields), unique_fields=("phone",), update_fields=("phone",),
                            touch=False)


def volunteer_fields(*, name: str, location: Location, email: str = "", consent_sms: bool | None = None,
                     max_travel_km: float | None = None, now=None, consent_email: bool | None = None) -> dict:
    """What a sign-up or booking says about the volunteer (fields left out keep their stored value). Consent
    given is recorded with its time and the wording version shown (volunteers.consent)."""
    fields = {
        "name": name, "postcode": location.postcode, "lat": location.lat, "lng": location.lng,
        "seat_id": location.seat_id,
    }
    if email:
        fields["email"] = email
    if consent_sms is not None:
        fields.update(consent_fields(consent_sms=consent_sms, now=now))
    if consent_email:
        fields.update(consent_email_fields(consent_email=True, now=now))
    if max_travel_km is not None:
        fields["max_travel_km"] = max_travel_km
    return fields


def consent_fields(*, consent_sms: bool, now=None, version: str = CONSENT_SMS_VERSION) -> dict:
    if consent_sms:
        return {"consent_sms": True, "consent_sms_at": now or timezone.now(), "consent_sms_version": version}
    return {"consent_sms": False, "consent_sms_at": None, "consent_sms_version": ""}


def consent_email_fields(*, consent_email: bool, now=None, version: str = CONSENT_EMAIL_VERSION) -> dict:
    """Consent to email, with its time and wording version; giving it again lifts an earlier unsubscribe."""
    if consent_email:
        return {"consent_email": True, "consent_email_at": now or timezone.now(), "consent_email_version": version,
                "email_opted_out_at": None}
    return {"consent_email": False, "consent_email_at": None, "consent_email_version": ""}


def bookings_for_volunteer_upcoming(*, volunteer: Volunteer):
    return (
        Booking.objects.filter(volunteer=volunteer, status__in=ACTIVE_STATUSES, slot__ends_at__gt=timezone.now())
        .select_related("slot__session__meeting_point", "slot__session__seat")
        .order_by("slot__starts_at")
    )


def volunteer_sms_flags_set(*, volunteer_id: int, opted_out: bool | None = None, phone_invalid: bool | None = None) -> None:
    """Record what the SMS channel learnt about a volunteer's number (opt-out/in, invalid). Idempotent."""
    changes = {}
    if opted_out is not None:
        changes["sms_opted_out"] = opted_out
    if phone_invalid is not None:
        changes["phone_invalid"] = phone_invalid
    if changes:
        Volunteer.objects.filter(pk=volunteer_id).update(**changes, updated_at=timezone.now())
