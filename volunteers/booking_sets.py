"""Several slots at once, and bookings on a remembered device.

One request books any set of slots (a session page's ticked slots, the API's slot_ids), all or nothing, in one
transaction: if any chosen slot is full, overlaps another chosen one, can't be booked or breaks a limit, nothing is
booked and the error names the slot. A full slot in a set is refused, not waitlisted: a set is for the places that
are free now, and a waitlist place on one slot of a set would leave the volunteer half-booked (a single slot still
waitlists, as before). Each slot counts against the phone's booking limit (booking_phone).

A party (party_size places, the others' first names: volunteers.parties) applies to every slot of the set, all or
nothing: a slot without room for the whole party refuses the set.

Without a remembered device the places are held unproven and one code (one text) proves them all
(volunteers.identity: the challenge's booking is the first, the others wait in its pending details). On a device
that proved this very phone (volunteers.devices) the bookings are proven at once, as a proven volunteer's are
(volunteers.services.booking_place: a place held by an unproven request gives way, a clash with a proven place is
refused), their confirmation texted as for an assignment; the metered disclosure applies wherever the address
then shows. A device never proves another number: that takes the code.
"""

from django.db import transaction
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.ratelimit import rate_limit
from seats.geocoding import postcode_locate
from sessions.models import Slot
from sessions.services import slot_is_bookable
from volunteers import identity
from volunteers.consent_ledger import campaign_consent_set, challenge_campaign_said
from volunteers.devices import device_proves
from volunteers.events import phone_challenge_announce
from volunteers.models import Booking, PhoneChallenge, Volunteer
from volunteers.parties import party_names_clean, party_size_clean
from volunteers.phones import phone_normalise
from volunteers.services import (
    ACTIVE_STATUSES,
    BY_REQUEST,
    SLOT_RELATED,
    booking_place,
    first_name_said,
    hold_extend,
    volunteer_fields,
    volunteer_get_or_create,
)

MAX_SLOTS_AT_ONCE = 12


def _when(slot: Slot) -> str:
    """The slot's day and times in the active language ("Sat 12 Dec 10:00-12:00", "Sad 12 Rhag 10:00-12:00")."""
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    return f"{dateformat.format(start, 'D d M H:i')}-{dateformat.format(end, 'H:i')}"


def _slot_ids_clean(slot_ids) -> list[int]:
    try:
        ids = list(dict.fromkeys(int(slot_id) for slot_id in slot_ids))
    except (TypeError, ValueError):
        ids = []
    if not ids or len(ids) > MAX_SLOTS_AT_ONCE or any(slot_id < 1 for slot_id in ids):
        raise InvalidInput(gettext("Choose between 1 and %(max)s slots.") % {"max": MAX_SLOTS_AT_ONCE},
                           code="invalid_slots", fields={"slot_ids": [gettext("Choose at least one slot.")]})
    return ids


def _slots_for_set(ids: list[int]) -> list[Slot]:
    """The chosen slots in id order (the order their places are taken: two sets never wait on each other in
    opposite orders), each bookable and none overlapping another; else the error naming the slot."""
    slots = {slot.pk: slot for slot in Slot.objects.select_related(*SLOT_RELATED).filter(pk__in=ids)}
    missing = [slot_id for slot_id in ids if slot_id not in slots]
    if missing:
        raise NotFound(gettext("No such slot."), code="not_found", fields={"slot_ids": [gettext("Unknown slot.")]})
    ordered = [slots[slot_id] for slot_id in sorted(ids)]
    for slot in ordered:
        try:
            slot_is_bookable(slot)
        except DomainError as exc:
            raise type(exc)(gettext("%(when)s: %(why)s") % {"when": _when(slot), "why": exc.message}, code=exc.code,
                            fields={"slot_ids": [_when(slot)]}) from None
    by_start = sorted(ordered, key=lambda slot: (slot.starts_at, slot.pk))
    for earlier, later in zip(by_start, by_start[1:], strict=False):
        if later.starts_at < earlier.ends_at:
            raise InvalidInput(
                gettext("%(later)s overlaps %(earlier)s: choose one of them.") % {"later": _when(later),
                                                                                   "earlier": _when(earlier)},
                code="slots_overlap", fields={"slot_ids": [_when(later)]})
    return ordered


def _place(*, volunteer: Volunteer, slot: Slot, several: bool, **kwargs) -> Booking:
    """booking_place for one slot of the set: a full slot is refused (in a set) with its time in the message."""
    try:
        return booking_place(volunteer=volunteer, slot=slot, waitlist_when_full=not several, **kwargs).booking
    except Conflict as exc:
        if not several:
            raise
        raise Conflict(gettext("%(when)s: %(why)s") % {"when": _when(slot), "why": exc.message}, code=exc.code,
                       fields={"slot_ids": [_when(slot)]}) from None


def bookings_ask(*, slot_ids, name: str, phone: str, postcode: str, email: str = "", consent_sms: bool,
                 client_ip: str, consent_email: bool = False,
                 device_token: str | None = None, consent_campaign: bool = False,
                 consent_how: str = "form", party_size: int = 1,
                 party_names="") -> PhoneChallenge | list[Booking]:
    """Ask for places on a set of slots with one form. On a device remembered for this phone: the bookings, proven
    now (bookings_book_on_device). Otherwise the challenge whose one code proves them all: one slot takes the
    single request's path (identity.booking_request, which waitlists a full slot), several bookings_request.
    Raises as those do."""
    ids = _slot_ids_clean(slot_ids)
    party_size = party_size_clean(party_size)
    party_names = party_names_clean(party_names, party_size=party_size)
    normalised = phone_normalise(phone)
    volunteer = device_proves(token=device_token, phone=normalised) if device_token else None
    said = {"name": name, "postcode": postcode, "email": email, "consent_sms": consent_sms,
            "consent_email": consent_email, "party_size": party_size, "party_names": party_names}
    if volunteer is not None:
        booked = bookings_book_on_device(volunteer_id=volunteer.pk, slot_ids=ids, **said)
        if consent_campaign:  # the device proved the phone: given now (volunteers.consent_ledger)
            campaign_consent_set(volunteer_id=volunteer.pk, given=True, how=consent_how)
        return booked
    if len(ids) == 1:
        challenge = identity.booking_request(slot_id=ids[0], phone=normalised, client_ip=client_ip, **said)
    else:
        challenge = bookings_request(slot_ids=ids, phone=normalised, client_ip=client_ip, **said)
    if consent_campaign:  # waits for the code, as the rest of what was said
        challenge_campaign_said(challenge=challenge, given=True, how=consent_how)
    return challenge


def bookings_request(*, slot_ids, name: str, phone: str, postcode: str, email: str = "", consent_sms: bool,
                     client_ip: str, consent_email: bool = False, party_size: int = 1,
                     party_names="") -> PhoneChallenge:
    """Hold places on several slots for a phone, unproven, all or nothing, and text it one code that proves them
    all (and the first booking's link). As identity.booking_request otherwise: a known phone's details wait on the
    code, its other bookings are not read (a clash is the prover's to settle), the same statements for every phone.
    Every slot counts against booking_phone; the text against code_send_phone and sms_phone_day. Raises
    InvalidInput (bad slot set, overlapping slots, phone, postcode), NotFound, InvalidState or Conflict slot_full
    naming the slot (then nothing is held), RateLimited."""
    ids = _slot_ids_clean(slot_ids)
    party_size = party_size_clean(party_size)
    party_names = party_names_clean(party_names, party_size=party_size)
    phone = phone_normalise(phone)
    location = postcode_locate(postcode)
    for _ in ids[1:]:
        rate_limit(scope="booking_phone", key=phone)
    identity.limit_texts_to(phone, scope="booking_phone")
    now = timezone.now()
    fields = volunteer_fields(name=name, location=location, consent_sms=consent_sms, now=now)
    challenge, code = identity.challenge_new(
        phone=phone, purpose=PhoneChallenge.Purpose.BOOKING,
        pending_details=identity.details_said(name=name, location=location, email=email, consent_sms=consent_sms,
                                       consent_email=consent_email, now=now))
    said_name = first_name_said(name)
    with transaction.atomic():
        slots = _slots_for_set(ids)
        volunteer, created = volunteer_get_or_create(phone=phone, fields=fields)
        bookings = []
        for slot in slots:
            # This slot's row only, as a single request reads it: never the phone's other bookings.
            existing = Booking.objects.select_for_update().filter(volunteer=volunteer, slot=slot).first()
            if existing is not None and existing.status in ACTIVE_STATUSES:
                hold_extend(booking=existing)
                bookings.append(existing)
                continue
            booking = _place(volunteer=volunteer, slot=slot, several=True, event_payload=BY_REQUEST,
                             looked_up=(existing, False), party_size=party_size, party_names=party_names)
            if booking.said_name != said_name:
                Booking.objects.filter(pk=booking.pk).update(said_name=said_name)
            bookings.append(booking)
        bookings.sort(key=lambda booking: (booking.slot.starts_at, booking.pk))
        pending = identity.email_said(email=email, consent_email=consent_email) if created else challenge.pending_details
        challenge.pending_details = {**pending, identity.ALSO: [booking.pk for booking in bookings[1:]]}
        challenge.volunteer, challenge.booking = volunteer, bookings[0]
        challenge.save(force_insert=True)
        phone_challenge_announce(challenge=challenge, code=code, situation="booked_several")
    return challenge


def bookings_book_on_device(*, volunteer_id: int, slot_ids, name: str, postcode: str, email: str = "",
                            consent_sms: bool, consent_email: bool = False, party_size: int = 1,
                            party_names="") -> list[Booking]:
    """Book a set of slots for a volunteer whose phone the caller's remembered device proved (bookings_ask checks
    the device): proven at once, all or nothing, what was said applied as a typed code applies it. Counted against
    booking_phone and sms_phone_day (its confirmation text) per slot. A single slot waitlists when full; in a set a
    full slot is refused. Raises as bookings_request does, and Conflict overlapping_booking for a clash with a
    proven place the phone holds."""
    ids = _slot_ids_clean(slot_ids)
    party_size = party_size_clean(party_size)
    party_names = party_names_clean(party_names, party_size=party_size)
    location = postcode_locate(postcode)
    phone = Volunteer.objects.filter(pk=volunteer_id).values_list("phone", flat=True).get()
    for _ in ids:
        rate_limit(scope="booking_phone", key=phone)
    for _ in ids:  # each booking's confirmation is a text
        rate_limit(scope="sms_phone_day", key=phone,
                   message=gettext("Too many texts to this phone today. Please try tomorrow."))
    now = timezone.now()
    with transaction.atomic():
        volunteer = Volunteer.objects.select_for_update().get(pk=volunteer_id)
        said = identity.details_said(name=name, location=location, email=email, consent_sms=consent_sms,
                              consent_email=consent_email, now=now)
        changed = identity.details_apply(volunteer=volunteer, said=said, said_at=now)
        if volunteer.phone_verified_at is None:
            volunteer.phone_verified_at = now
            changed.append("phone_verified_at")
        if changed:
            volunteer.save(update_fields=[*changed, "updated_at"])
        slots = _slots_for_set(ids)
        several = len(slots) > 1
        bookings = [_place(volunteer=volunteer, slot=slot, several=several, proven=True, party_size=party_size,
                           party_names=party_names) for slot in slots]
        for index, booking in enumerate(bookings):
            if booking.proven_at is None:  # held already by an earlier request with this number: proven now
                booking = bookings[index] = identity.booking_prove_by_link(manage_token=booking.manage_token)
            booking.volunteer = volunteer
        bookings.sort(key=lambda booking: (booking.slot.starts_at, booking.pk))
    return bookings
