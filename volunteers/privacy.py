"""Personal data: what a volunteer can download and erase, the retention purge, and the record of coordinators'
access (issue 11; docs/privacy.md).

Erasing keeps the volunteer's row and bookings, anonymised: coverage per seat (dispatch.services.coverage) counts
bookings by seat, slot and status, and those stay. Names, numbers, emails, the full postcode, availability and
the private links go. Higher layers hold copies (notify.sms keeps the texts sent): they receive
`personal_data_erased` inside the erasing transaction and erase theirs. Rows that point at no volunteer but say
something about a person (login attempts) are purged after the retention period through core.retention's hook;
Twilio webhook receipts are kept (no personal data, and the only replay guard). Coordinators' access is announced with
`personal_data_accessed`; dispatch writes it to its audit log (volunteers does not import dispatch).
"""

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, NotFound
from seats.postcodes import outcode_of
from volunteers.consent_ledger import ledger_note_changes
from volunteers.models import (
    AvailabilityWindow,
    Booking,
    CalendarFeed,
    ConsentRecord,
    FrontRoomDisclosure,
    FrontRoomHold,
    RememberedDevice,
    Volunteer,
    new_token,
)

logger = logging.getLogger(__name__)

# Inside the transaction that erased a volunteer: erase your copies of their personal data.
personal_data_erased = Signal()  # sender=Volunteer, volunteer_id=int
# Building a volunteer's export: receivers return {key: [rows]} of what their app holds about the volunteer without
# pointing at them (webhook deliveries point at bookings), each row plain data with no secret in it.
personal_data_export_collect = Signal()  # sender=Volunteer, volunteer_id=int
# A coordinator (or host) read, exported or erased personal data: record it.
personal_data_accessed = Signal()  # sender=Volunteer, actor=User, action=str, volunteer_ids=list[int], detail=dict


class Access:
    VIEWED = "viewed"
    EXPORTED = "exported"
    ERASED = "erased"
    ROSTER_READ = "roster_read"


# Never in an export: links and secrets that would open other bookings to whoever holds one link.
_SECRET_NAMES = {"token", "code", "otp", "pin"}
_ERASED_PHONE = "erased:{pk}"  # keeps phone unique and never matches a real E.164 number
DELETE_CONFIRMATION = "DELETE"


def _is_secret(field: models.Field) -> bool:
    name = field.name.lower()
    return name in _SECRET_NAMES or name.endswith("_token") or "hash" in name or "secret" in name


# The private links inside stored texts (every text about a booking carries its own): masked in an export too.
_PRIVATE_LINK = re.compile(r"/([bn])/[A-Za-z0-9_-]+")  # a booking's link, a sign-up's (volunteers.signup)


def _row(instance: models.Model, *, exclude: Iterable[str] = ()) -> dict:
    skip = set(exclude)
    row = {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
           if field.name not in skip and not _is_secret(field)}
    return {key: _PRIVATE_LINK.sub(r"/\1/<private link>", value) if isinstance(value, str) else value
            for key, value in row.items()}


def volunteer_data_export(*, volunteer: Volunteer) -> dict:
    """Everything stored about the volunteer, as plain data (datetimes left for the JSON encoder). Read-only.

    The volunteer record (consent and its time and version among its fields), availability, bookings with their
    session and history, and every other row that points at the volunteer, whatever app holds it (SMS messages,
    phone challenges, overflow moves), found through the model's reverse relations so nothing new is missed; and
    what apps above hold about them through their bookings (webhook deliveries: personal_data_export_collect).
    """
    bookings = []
    for booking in (Booking.objects.filter(volunteer=volunteer).select_related("slot__session__seat")
                    .prefetch_related("events").order_by("created_at", "id")):
        session = booking.slot.session
        bookings.append({
            **_row(booking, exclude=("volunteer",)),
            "session": {"id": session.id, "title": session.title, "seat": session.seat.name,
                        "postcode_district": session.postcode_district},
            "slot": {"id": booking.slot_id, "starts_at": booking.slot.starts_at, "ends_at": booking.slot.ends_at},
            "events": [{"kind": e.kind, "version": e.version, "created_at": e.created_at} for e in booking.events.all()],
        })
    export = {"exported_at": timezone.now(), "volunteer": _row(volunteer), "bookings": bookings}
    for relation in volunteer._meta.related_objects:
        if relation.related_model is Booking or not (relation.one_to_many or relation.one_to_one):
            continue
        key = relation.get_accessor_name()
        if key.startswith("+") or key.endswith("+"):
            key = relation.related_model._meta.model_name
        rows = relation.related_model._default_manager.filter(**{relation.field.name: volunteer}).order_by("pk")
        export[key] = [_row(row, exclude=(relation.field.name,)) for row in rows]
    export.update(_exports_by_phone(volunteer))
    for _receiver, found in personal_data_export_collect.send(sender=Volunteer, volunteer_id=volunteer.pk):
        export.update(found or {})
    return export


def _exports_by_phone(volunteer: Volunteer) -> dict:
    """Rows of the volunteers app keyed by the phone number rather than by a link to the volunteer (a phone
    challenge made before the volunteer existed)."""
    found = {}
    for model in _phone_keyed_models():
        rows = model._default_manager.filter(phone=volunteer.phone).order_by("pk")
        found[model._meta.verbose_name_plural.replace(" ", "_")] = [_row(row) for row in rows]
    return found


def _phone_keyed_models() -> list[type[models.Model]]:
    from django.apps import apps

    return [model for model in apps.get_app_config("volunteers").get_models()
            if model is not Volunteer and any(f.name == "phone" for f in model._meta.concrete_fields)
            and not any(getattr(f, "related_model", None) is Volunteer for f in model._meta.concrete_fields)]


def _phone_rows_delete(volunteer: Volunteer) -> None:
    """Delete the volunteers app's rows that hold the number (phone challenges, with the details they carry),
    whether they point at the volunteer or only name the number."""
    from django.apps import apps

    for model in apps.get_app_config("volunteers").get_models():
        if model is Volunteer or not any(f.name == "phone" for f in model._meta.concrete_fields):
            continue
        match = Q(phone=volunteer.phone)
        for field in model._meta.concrete_fields:
            if getattr(field, "related_model", None) is Volunteer:
                match |= Q(**{field.name: volunteer})
        model._default_manager.filter(match).delete()


def volunteer_data_export_for_booking(*, manage_token: str) -> dict:
    """The export for whoever holds a booking's private link (the API and the pages call this)."""
    return volunteer_data_export(volunteer=_volunteer_by_link(manage_token))


def _volunteer_by_link(manage_token: str) -> Volunteer:
    # The private link is the proof: it went only to the volunteer's phone. Erasing rotates every link.
    booking = (Booking.objects.select_related("volunteer").filter(manage_token=manage_token).first()
               if manage_token else None)
    if booking is None:
        raise NotFound(gettext("No booking with this link."))
    return booking.volunteer


@transaction.atomic
def volunteer_data_delete_for_booking(*, manage_token: str, confirm: str) -> None:
    """Erase the personal data of whoever holds a booking's private link; `confirm` must be DELETE (InvalidInput
    naming the field otherwise). The link stops working."""
    if (confirm or "").strip().upper() != DELETE_CONFIRMATION:
        raise InvalidInput(gettext("Type %(delete_confirmation)s to confirm: this cannot be undone.") % {"delete_confirmation": DELETE_CONFIRMATION}, code="confirmation_required",
                           fields={"confirm": [gettext("Must be \"%(delete_confirmation)s\".") % {"delete_confirmation": DELETE_CONFIRMATION}]})
    volunteer_personal_data_erase(volunteer_id=_volunteer_by_link(manage_token).pk)


@transaction.atomic
def volunteer_personal_data_erase(*, volunteer_id: int, actor=None) -> bool:
    """Anonymise a volunteer: upcoming bookings are released (waitlists promoted in this transaction, the hosts'
    rosters show the place free), then the name, number, email, full postcode, availability and private links are
    removed; past bookings stay, anonymous, for the coverage counts. Idempotent: False if already erased."""
    from volunteers.services import bookings_release_before_delete

    volunteer = Volunteer.objects.select_for_update().filter(pk=volunteer_id).first()
    if volunteer is None or volunteer.anonymised_at is not None:
        return False
    now = timezone.now()
    bookings_release_before_delete(bookings=Booking.objects.filter(volunteer=volunteer, slot__starts_at__gt=now))
    for booking in Booking.objects.filter(volunteer=volunteer).only("pk"):
        Booking.objects.filter(pk=booking.pk).update(manage_token=new_token(), said_name="", party_names="",
                                                     updated_at=now)
    AvailabilityWindow.objects.filter(volunteer=volunteer).delete()
    CalendarFeed.objects.filter(volunteer=volunteer).delete()  # a private link too
    RememberedDevice.objects.filter(volunteer=volunteer).delete()  # the devices that skip the code: forgotten
    # Which front rooms the phone was shown or held back from (volunteers.disclosure): personal data too.
    FrontRoomDisclosure.objects.filter(volunteer=volunteer).delete()
    FrontRoomHold.objects.filter(volunteer=volunteer).delete()
    _phone_rows_delete(volunteer)
    volunteer.name, volunteer.email = "", ""
    volunteer.party_names = ""  # the sign-up's party's first names (docs/parties.md)
    volunteer.phone = _ERASED_PHONE.format(pk=volunteer.pk)
    volunteer.postcode = outcode_of(volunteer.postcode)
    volunteer.lat, volunteer.lng = round(volunteer.lat, 2), round(volunteer.lng, 2)
    before = {"consent_sms": volunteer.consent_sms, "consent_email": volunteer.consent_email,
              "consent_campaign": volunteer.consent_campaign}
    volunteer.consent_sms = False
    volunteer.consent_email = False
    volunteer.consent_campaign = False
    ledger_note_changes(volunteer_id=volunteer.pk, how=ConsentRecord.How.ERASED, before=before, after={
        "consent_sms": False, "consent_email": False, "consent_campaign": False})
    volunteer.token = new_token()
    volunteer.anonymised_at = now
    volunteer.save()
    personal_data_erased.send(sender=Volunteer, volunteer_id=volunteer.pk)
    if actor is not None:
        personal_data_accessed_record(actor=actor, action=Access.ERASED, volunteer_ids=[volunteer.pk])
    return True


def retention_cutoff(*, older_than_days: int | None = None, now: datetime | None = None) -> datetime:
    days = settings.PERSONAL_DATA_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 0:
        raise InvalidInput(gettext("older-than must be 0 or more days."), fields={"older_than": [gettext("Must be 0 or more.")]})
    return (now or timezone.now()) - timedelta(days=days)


def volunteers_due_for_purge(*, cutoff: datetime):
    """Volunteers not yet anonymised whose every booked slot, availability window and own record ended or
    changed before `cutoff`: nothing of theirs is still to come."""
    return (
        Volunteer.objects.filter(anonymised_at__isnull=True, updated_at__lt=cutoff)
        .annotate(last_slot=Max("bookings__slot__ends_at"))
        .filter(Q(last_slot__isnull=True) | Q(last_slot__lt=cutoff))
        .exclude(availability__ends_at__gte=cutoff)
        .order_by("pk")
    )


def personal_data_purge(*, older_than_days: int | None = None, dry_run: bool = False, progress=None) -> int:
    """personal_data_purge_all, answering how many volunteers were (or, with dry_run, would be) anonymised."""
    return personal_data_purge_all(older_than_days=older_than_days, dry_run=dry_run, progress=progress)["volunteers"]


def personal_data_purge_all(*, older_than_days: int | None = None, dry_run: bool = False,
                            progress=None) -> dict[str, int]:
    """Anonymise every volunteer due for purge (see volunteers_due_for_purge), one transaction each, then have the
    apps that keep personal data of their own (core.retention: login attempts and records) delete theirs older
    than the cutoff. Returns {"volunteers": n, <what>: n, ...}, counted only with dry_run. Idempotent: a second
    run finds nothing."""
    from core.retention import retention_purge_run

    cutoff = retention_cutoff(older_than_days=older_than_days)
    ids = list(volunteers_due_for_purge(cutoff=cutoff).values_list("pk", flat=True))
    if dry_run:
        return {"volunteers": len(ids), **retention_purge_run(cutoff=cutoff, dry_run=True)}
    done = 0
    for volunteer_id in progress(ids) if progress else ids:
        done += volunteer_personal_data_erase(volunteer_id=volunteer_id)
    with transaction.atomic():
        others = retention_purge_run(cutoff=cutoff)
    logger.info("personal data purge: %s volunteer(s) anonymised, %s (cutoff %s)", done,
                ", ".join(f"{count} {label}" for label, count in others.items()) or "nothing else", cutoff.isoformat())
    return {"volunteers": done, **others}


def personal_data_accessed_record(*, actor, action: str, volunteer_ids: Iterable[int] = (), **detail) -> None:
    """Announce that `actor` read, exported or erased personal data, for the audit log (dispatch writes it)."""
    personal_data_accessed.send(sender=Volunteer, actor=actor, action=action, volunteer_ids=sorted(volunteer_ids),
                                detail=detail)


def mask_token(token: str) -> str:
    """A private link's token as staff pages show it: its first four characters (enough to match a link someone
    reads out), never enough to open it. The link itself is only ever texted to its owner."""
    return f"{token[:4]}••••" if token else ""


def mask_phone(phone: str) -> str:
    """+447400123456 -> +44 7••• •••456: enough to tell two people apart in a list, not to call them."""
    if not phone or not phone.startswith("+") or len(phone) < 8:
        return phone and "•••"
    return f"{phone[:3]} {phone[3]}••• •••{phone[-3:]}"
