"""A message to everyone booked: the preview (who it reaches by which channel, and what the texts cost) and the
send, which writes the audit record (notify.models.Broadcast) and one outbox row per volunteer and channel that
notify.consent's gate lets through, in one transaction; the rows' sends are enqueued in batches on commit and go
at the SMS and email send rates (notify.pacing), held until morning in quiet hours (each channel's sending).

Who may send: a host to their own session's proven volunteers, a coordinator to a seat, region or everyone booked
on a day within their scope (notify.messaging.audience). A sender writes at most MESSAGES_PER_SENDER_DAY messages
a day; a body is at most MESSAGE_BODY_MAX characters; the sender sees counts, never anyone's number or address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.db import copy_insert
from core.errors import InvalidInput, RateLimited
from core.languages import language_override
from notify.consent import CAMPAIGN, SERVICE, campaign_footer, may_send, withdraw_url
from notify.email.models import EmailMessage
from notify.email.services.outbox import messages_enqueue_batches as emails_enqueue_batches
from notify.messaging.audience import Audience, Recipient, recipients
from notify.models import Broadcast
from notify.sms.models import SmsMessage
from notify.sms.segments import segments_count
from notify.sms.services.outbox import messages_enqueue_batches as texts_enqueue_batches

logger = logging.getLogger(__name__)

KINDS = {SERVICE: "broadcast_service", CAMPAIGN: "broadcast_campaign"}


def kind_for(purpose: str) -> str:
    try:
        return KINDS[purpose]
    except KeyError:
        raise InvalidInput(gettext("Choose what kind of message this is."), code="invalid",
                           fields={"purpose": [gettext("Choose what kind of message this is.")]}) from None


def body_clean(body: str) -> str:
    """The sender's words, trimmed; InvalidInput naming "body" when empty or too long."""
    text = " ".join((body or "").split())
    limit = settings.MESSAGE_BODY_MAX
    if not text:
        raise InvalidInput(gettext("Write a message."), code="invalid", fields={"body": [gettext("Write a message.")]})
    if len(text) > limit:
        message = gettext("At most %(limit)s characters.") % {"limit": limit}
        raise InvalidInput(message, code="too_long", fields={"body": [message]})
    return text


def text_for(*, audience: Audience, purpose: str, body: str, volunteer_id: int, language: str) -> str:
    """The text a volunteer gets: who it is from, the sender's words, and for a campaign message the sender's
    identification and the link that stops such messages."""
    with language_override(language):
        if audience.session is not None:
            head = gettext("%(site)s, from your host of %(title)s: ") % {
                "site": settings.SITE_NAME, "title": audience.session.title}
        else:
            head = gettext("%(site)s organisers: ") % {"site": settings.SITE_NAME}
        text = head + body
        if purpose == CAMPAIGN:
            text += "\n" + campaign_footer(withdraw_url=withdraw_url(volunteer_id))
    return text


@dataclass(frozen=True)
class Preview:
    """What sending would do: how many it reaches by text and by email, how many it cannot reach (no consent for
    this kind of message, or stopped), the texts' SMS segments and their estimated cost, and a sample text."""

    recipients: int
    texts: int
    emails: int
    unreached: int
    segments: int
    cost_pence: float
    sample: str
    purpose: str

    @property
    def reached(self) -> int:
        return self.recipients - self.unreached

    def as_dict(self) -> dict:
        return {"recipients": self.recipients, "reached": self.reached, "texts": self.texts, "emails": self.emails,
                "unreached": self.unreached, "segments": self.segments, "cost_pence": round(self.cost_pence, 2),
                "sample": self.sample, "purpose": self.purpose}


def _plan(audience: Audience, purpose: str, body: str) -> tuple[list[Recipient], list[tuple], list[int], str]:
    """Who gets a text (with the text) and who an email, under the gate."""
    people = recipients(audience)
    texts, emails, sample = [], [], ""
    for person in people:
        if not may_send(person, purpose, "sms"):
            text = text_for(audience=audience, purpose=purpose, body=body, volunteer_id=person.id,
                            language=person.language)
            texts.append((person, text))
            sample = sample or text
        if not may_send(person, purpose, "email"):
            emails.append(person.id)
    if not sample:
        sample = text_for(audience=audience, purpose=purpose, body=body, volunteer_id=0, language="en-gb")
    return people, texts, emails, sample


def message_preview(*, audience: Audience, purpose: str, body: str) -> Preview:
    """What message_send would write now (reads only). InvalidInput naming "body" or "purpose"."""
    body = body_clean(body)
    kind_for(purpose)
    people, texts, emails, sample = _plan(audience, purpose, body)
    segments = sum(segments_count(text).segments for _, text in texts)
    reached = {person.id for person, _ in texts} | set(emails)
    return Preview(recipients=len(people), texts=len(texts), emails=len(emails), unreached=len(people) - len(reached),
                   segments=segments, cost_pence=segments * settings.SMS_SEGMENT_COST_PENCE, sample=sample,
                   purpose=purpose)


def _sender_cap_check(sender) -> None:
    """Lock the sender's user row (two sends at once count each other) and refuse past today's cap."""
    get_user_model().objects.select_for_update().filter(pk=sender.pk).first()
    since = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    sent = Broadcast.objects.filter(sender=sender, created_at__gte=since).count()
    if sent >= settings.MESSAGES_PER_SENDER_DAY:
        raise RateLimited(gettext("You have sent %(count)s messages today, the most a day. Try again tomorrow.")
                          % {"count": sent}, retry_after=3600)


@transaction.atomic
def message_send(*, sender, audience: Audience, purpose: str, body: str) -> Broadcast:
    """Write the message to the outboxes: one text and one email at most per volunteer the gate lets through, and
    the Broadcast record (the audit: who, what, to how many), all in one transaction; sends enqueued on commit.
    Raises InvalidInput naming the field, RateLimited past the sender's daily cap. Not idempotent by design: each
    call is a message (the daily cap bounds repeats); a duplicate task for one row sends it once (notify.outbox)."""
    body = body_clean(body)
    kind = kind_for(purpose)
    _sender_cap_check(sender)
    people, texts, emails, _sample = _plan(audience, purpose, body)
    rows = []
    segments = 0
    for person, text in texts:
        count = segments_count(text)
        segments += count.segments
        rows.append((person.id, person.phone, text, count.encoding, count.segments))
    broadcast = Broadcast.objects.create(
        sender=sender, purpose=purpose, session=audience.session, seat=audience.seat, region=audience.region,
        drivers=audience.drivers,
        day=audience.day, body=body, recipients=len(people), texts=len(rows), emails=len(emails), segments=segments,
        reached=len({person.id for person, _ in texts} | set(emails)))
    if rows:
        copy_insert(SmsMessage, ("volunteer", "to", "body", "encoding", "segments"), rows, same={
            "broadcast": broadcast.pk, "kind": kind, "version": 0, "status": SmsMessage.Status.PENDING,
            "status_rank": SmsMessage.RANK[SmsMessage.Status.PENDING], "skip_reason": ""})
        text_ids = list(SmsMessage.objects.filter(broadcast=broadcast).order_by("id").values_list("id", flat=True))
        transaction.on_commit(lambda: texts_enqueue_batches(text_ids))
    if emails:
        copy_insert(EmailMessage, ("volunteer",), [(pk,) for pk in emails], same={
            "broadcast": broadcast.pk, "kind": kind, "version": 0, "status": EmailMessage.Status.PENDING})
        email_ids = list(EmailMessage.objects.filter(broadcast=broadcast).order_by("id").values_list("id", flat=True))
        transaction.on_commit(lambda: emails_enqueue_batches(email_ids))
    logger.info("message %s by user %s (%s) to %s: %s texts, %s emails", broadcast.pk, getattr(sender, "pk", None),
                purpose, audience.describe(), len(rows), len(emails))
    return broadcast
