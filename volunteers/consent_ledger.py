"""Campaign consent and the consent ledger (docs/consent.md).

Service consent (texts and emails about one's own bookings) is given with a booking or sign-up, as before
(volunteers.consent). Campaign consent is a third box, unticked by default: it waits on the request's challenge
with what else was said and counts only once the phone is proven (a stranger's number typed into a form is never
opted into anything). Every grant and withdrawal of any consent is a ConsentRecord: when, which wording version,
and how (a form, the API, STOP, START, the link in a campaign message, an email's unsubscribe link).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import NotFound
from volunteers.consent import CONSENT_CAMPAIGN_VERSION
from volunteers.models import ConsentRecord, PhoneChallenge, Volunteer

Kind, Channel, Action, How = ConsentRecord.Kind, ConsentRecord.Channel, ConsentRecord.Action, ConsentRecord.How

# The key under which a request's campaign choice waits on its challenge (PhoneChallenge.pending_details).
SAID_CAMPAIGN = "consent_campaign"
SAID_HOW = "consent_how"

# What the ledger tracks of a volunteer: (kind, channel) -> (the consent flag, its version field).
TRACKED = {
    (Kind.SERVICE, Channel.SMS): ("consent_sms", "consent_sms_version"),
    (Kind.SERVICE, Channel.EMAIL): ("consent_email", "consent_email_version"),
    (Kind.CAMPAIGN, Channel.ALL): ("consent_campaign", "consent_campaign_version"),
}


def consent_record(*, volunteer_id: int, kind: str, channel: str, action: str, how: str, version: str = "",
                   at: datetime | None = None) -> ConsentRecord:
    """Add one grant or withdrawal to the ledger (in the caller's transaction)."""
    return ConsentRecord.objects.create(volunteer_id=volunteer_id, kind=kind, channel=channel, action=action,
                                        how=how, version=version, at=at or timezone.now())


def campaign_fields(*, given: bool, now: datetime | None = None) -> dict:
    """The Volunteer fields for campaign consent given (with time and wording version) or withdrawn."""
    if given:
        return {"consent_campaign": True, "consent_campaign_at": now or timezone.now(),
                "consent_campaign_version": CONSENT_CAMPAIGN_VERSION}
    return {"consent_campaign": False, "consent_campaign_at": None, "consent_campaign_version": ""}


def challenge_campaign_said(*, challenge: PhoneChallenge, given: bool, how: str = How.FORM) -> None:
    """Keep a request's campaign choice on its challenge until the phone is proven (said_consent_apply)."""
    PhoneChallenge.objects.filter(pk=challenge.pk).update(
        pending_details={**(challenge.pending_details or {}), SAID_CAMPAIGN: bool(given), SAID_HOW: how})
    challenge.pending_details = {**(challenge.pending_details or {}), SAID_CAMPAIGN: bool(given), SAID_HOW: how}


def said_consent_apply(*, volunteer: Volunteer, said: dict, said_at: datetime, changes: dict) -> dict:
    """At a phone's proof (volunteers.identity): the campaign fields a ticked box gives (an unticked one withdraws
    nothing: not ticking is not a "no" to what was agreed before), and the ledger rows for every consent the
    proof changes or first establishes, from `changes` (the other fields the proof sets). Returns the campaign
    field changes to add."""
    how = said.get(SAID_HOW) or How.FORM
    extra = campaign_fields(given=True, now=said_at) if said.get(SAID_CAMPAIGN) and not volunteer.consent_campaign \
        else {}
    after = {**{field: getattr(volunteer, field) for pair in TRACKED.values() for field in pair}, **changes, **extra}
    ledger_note_changes(volunteer_id=volunteer.pk, after=after, how=how, at=said_at)
    return extra


def ledger_note_changes(*, volunteer_id: int, after: dict, how: str, at: datetime | None = None,
                        before: dict | None = None) -> int:
    """Write a ledger row for each tracked consent whose state in `after` differs from the ledger's latest (for one
    the ledger has not seen: from `before`, the volunteer's state, if given; else taken as never given). Returns
    how many rows were written."""
    latest = {}
    for kind, channel, action in (ConsentRecord.objects.filter(volunteer_id=volunteer_id).order_by("at", "id")
                                  .values_list("kind", "channel", "action")):
        latest[(kind, channel)] = action
    written = 0
    for key, (flag, version_field) in TRACKED.items():
        if flag not in after:
            continue
        state = Action.GIVEN if after[flag] else Action.WITHDRAWN
        known = latest.get(key) or (
            (Action.GIVEN if before.get(flag) else Action.WITHDRAWN) if before is not None else Action.WITHDRAWN)
        if known != state:
            consent_record(volunteer_id=volunteer_id, kind=key[0], channel=key[1], action=state, how=how,
                           version=after.get(version_field) or "", at=at)
            written += 1
    return written


@transaction.atomic
def campaign_consent_set(*, volunteer_id: int, given: bool, how: str) -> bool:
    """Give or withdraw campaign consent (the /my/ page, the API, the link, STOP, an unsubscribe), recorded in the
    ledger. Idempotent: no change, no row. Returns whether it changed."""
    volunteer = Volunteer.objects.select_for_update().filter(pk=volunteer_id, anonymised_at__isnull=True).first()
    if volunteer is None or volunteer.consent_campaign == given:
        return False
    fields = campaign_fields(given=given)
    Volunteer.objects.filter(pk=volunteer_id).update(**fields, updated_at=timezone.now())
    consent_record(volunteer_id=volunteer_id, kind=Kind.CAMPAIGN, channel=Channel.ALL,
                   action=Action.GIVEN if given else Action.WITHDRAWN, how=how,
                   version=fields["consent_campaign_version"] or volunteer.consent_campaign_version)
    return True


@transaction.atomic
def consent_channel_stopped(*, volunteer_id: int, channel: str, how: str, stopped: bool = True) -> None:
    """A channel's own opt-out (STOP by text, an email's unsubscribe link) withdraws that channel's service
    messages and every campaign message, whatever the channel (opt-outs are honoured across channels); START
    lifts the text opt-out only: campaign consent has to be given again. Recorded in the ledger."""
    consent_record(volunteer_id=volunteer_id, kind=Kind.SERVICE, channel=channel,
                   action=Action.WITHDRAWN if stopped else Action.GIVEN, how=how)
    if stopped:
        campaign_consent_set(volunteer_id=volunteer_id, given=False, how=how)


# The link in every campaign message: signed (unguessable, so nobody can withdraw someone else's consent, or learn
# who is on file), stable per volunteer, and it only ever withdraws.
_SIGNER = signing.Signer(salt="frontroom.campaign.withdraw", sep=".")


def campaign_token(volunteer_id: int) -> str:
    return _SIGNER.sign(f"c{volunteer_id}")


def campaign_token_read(token: str) -> int:
    """The volunteer id of a valid link; NotFound (the same for every bad one) otherwise."""
    try:
        value = _SIGNER.unsign(token or "")
    except signing.BadSignature:
        raise NotFound(gettext("This link is not valid."), code="invalid_link") from None
    if not value.startswith("c") or not value[1:].isdigit():
        raise NotFound(gettext("This link is not valid."), code="invalid_link")
    return int(value[1:])


def campaign_withdraw_by_link(*, token: str) -> None:
    """The link in a campaign message: withdraw campaign consent only (service messages carry on). Idempotent;
    NotFound for a bad link."""
    campaign_consent_set(volunteer_id=campaign_token_read(token), given=False, how=How.LINK)


LEDGER_COLUMNS = ("volunteer_id", "kind", "channel", "action", "version", "how", "at")


def ledger_rows(*, volunteer_ids: Iterable[int] | None = None) -> Iterator[tuple]:
    """Every ledger row (or those of some volunteers), oldest first, for an ICO request."""
    rows = ConsentRecord.objects.order_by("at", "id")
    if volunteer_ids is not None:
        rows = rows.filter(volunteer_id__in=list(volunteer_ids))
    for row in rows.values_list(*LEDGER_COLUMNS).iterator(chunk_size=2000):
        yield (*row[:-1], row[-1].isoformat())


def ledger_csv_write(out, *, volunteer_ids: Iterable[int] | None = None) -> int:
    """Write the ledger as CSV to a file-like `out`; returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(LEDGER_COLUMNS)
    count = 0
    for row in ledger_rows(volunteer_ids=volunteer_ids):
        writer.writerow(row)
        count += 1
    return count
