"""A host's daily digest by text (HostSmsPreference.digest): one short text the morning after, with how many places
were taken and given back on their sessions the day before, through the outbox like every host text.

- Written by the hourly beat (sms.host_digests_enqueue) from SMS_HOST_DIGEST_AT, once per host and day: the unique
  (host, digest_date) key, however often it runs. Only hosts with something to tell, a place taken by a proven
  phone or given back (notify.audience' rule, as the email digest counts them).
- Sent as a host text: only to a proven mobile (else written skipped, mobile_unproven), never in quiet hours (it
  waits for their end), once in the number's daily limit, skipped if the host turned the digest off meanwhile.
- It names nobody: the counts and the link to the host's sessions, where the roster has the rest.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone

from core.languages import language_override
from notify.audience import BOOKED_EVENTS, CANCELLED_EVENTS
from notify.sms.conf import sms_setting
from notify.sms.models import HostSmsPreference, SmsMessage
from notify.sms.segments import segments_count
from notify.sms.texts import text_render
from sessions.hosts import host_language
from volunteers.models import BookingEvent

Status = SmsMessage.Status


def _hosts_url() -> str:
    from django.conf import settings

    try:
        path = reverse("hosts:home")
    except NoReverseMatch:  # the pages (web) are not installed
        path = "/host/"
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def host_digest_counts(*, host_ids, day) -> dict[int, tuple[int, int]]:
    """(places taken, places given back) on each host's sessions during local `day`, by proven phones."""
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    events = (BookingEvent.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1),
                                          kind__in=BOOKED_EVENTS | CANCELLED_EVENTS, booking__proven_at__isnull=False,
                                          booking__slot__session__meeting_point__host_id__in=host_ids)
              .values_list("booking__slot__session__meeting_point__host_id", "kind", "payload"))
    booked, cancelled = Counter(), Counter()
    for host_id, kind, payload in events:
        if kind in BOOKED_EVENTS:
            booked[host_id] += 1
        elif payload.get("released_place"):
            cancelled[host_id] += 1
    return {host_id: (booked[host_id], cancelled[host_id]) for host_id in booked.keys() | cancelled.keys()}


def host_text_digests_enqueue(*, now: datetime | None = None) -> int:
    """Beat task body: from SMS_HOST_DIGEST_AT, write yesterday's digest text for each host who chose it and had
    something to tell, once per host and day (the partial unique key (host, digest_date)), whatever how often it
    runs: hosts who have the day's digest already are left out before anything is counted or rendered. Their sends
    are enqueued on commit. Returns how many were written (a racing run's rows for the same hosts among them)."""
    local = timezone.localtime(now or timezone.now())
    if local.time() < sms_setting("SMS_HOST_DIGEST_AT"):
        return 0
    day = local.date() - timedelta(days=1)
    digests = SmsMessage.objects.filter(kind=SmsMessage.Kind.HOST_DIGEST, digest_date=day)
    wanted = {host_id: flags for host_id, *flags in HostSmsPreference.objects.filter(
        ~Exists(digests.filter(host_id=OuterRef("host_id"))), digest=True, host__is_active=True).exclude(
        mobile="").values_list("host_id", "mobile", "sms_opted_out", "phone_invalid", "mobile_proven_at")}
    counts = host_digest_counts(host_ids=list(wanted), day=day) if wanted else {}
    rows = []
    for host_id, (booked, cancelled) in sorted(counts.items()):
        mobile, opted_out, invalid, proven_at = wanted[host_id]
        with language_override(host_language(host_id=host_id)):
            body = text_render("host_digest", {"day": dateformat.format(day, "D d M"), "booked": booked,
                                               "cancelled": cancelled, "link": _hosts_url()})
        count = segments_count(body)
        reason = ("opted_out" if opted_out else "phone_invalid" if invalid
                  else "mobile_unproven" if proven_at is None else "")
        status = Status.SKIPPED if reason else Status.PENDING
        rows.append(SmsMessage(host_id=host_id, kind=SmsMessage.Kind.HOST_DIGEST, digest_date=day, version=1,
                               to=mobile, body=body, encoding=count.encoding, segments=count.segments, status=status,
                               status_rank=SmsMessage.RANK[status], skip_reason=reason))
    if not rows:
        return 0
    # The ORM, measured (bench/sql_vs_orm.py digests_first and digests_again at 3afae3b): 0.95x the CPU of the
    # INSERT ... ON CONFLICT a host it replaced, 0.01x an hour later (BENCHMARKS.md "Hand-written statements vs the
    # ORM"). A racing run's rows stay (ignore_conflicts) and are enqueued again: the claim sends each once.
    with transaction.atomic():
        SmsMessage.objects.bulk_create(rows, ignore_conflicts=True)
        pending = list(digests.filter(host_id__in=[row.host_id for row in rows], status=Status.PENDING)
                       .values_list("pk", flat=True))
        if pending:
            from notify.sms.services.outbox import messages_enqueue_batches

            transaction.on_commit(lambda: messages_enqueue_batches(pending))
    return len(rows)
