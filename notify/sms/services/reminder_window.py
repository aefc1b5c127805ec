"""Reminders that fit the sender: the day-before texts spread across a window at the sender's capacity, a latest
useful time on every reminder and code, and a release sweep that hands the planned rows to Celery as they fall due.

Through one UK long code (about 10 texts a second) 30,000 reminders take 50 minutes, and Twilio would queue any
excess for up to 10 hours. So each day-before reminder gets a planned second in the window (SMS_REMINDER_WINDOW_START
to _END on the day before, never past the start of quiet hours), soonest slots first, at most the sender's capacity
in any one second (SMS_SENDER_CAPACITY_PER_SECOND, or the rate measured at the last backlog if that was lower). The
planned time is the row's first next_attempt_at, so the outbox's claim leaves it alone until then; no task waits
hours in the broker (whose visibility timeout would hand it out again): every minute the release sweep enqueues the
rows due in the next minute, each with a countdown to its second. A row still unsent at its latest useful time
(`send_by`) is dropped and marked "dropped_late", never sent late, and Twilio is told the same (ValidityPeriod).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from notify.reminders import DAY_BEFORE, SOON
from notify.sms.backends import VALIDITY_MAX, sender_key
from notify.sms.conf import sms_setting
from notify.sms.models import SmsMessage

Status = SmsMessage.Status
DROPPED_LATE = "dropped_late"
RELEASE_AHEAD = timedelta(seconds=60)  # the release sweep runs every minute (CELERY_BEAT_SCHEDULE)
HORIZON_KEY = "sms:reminders:released-until"
# Keyed by the configured capacity too: an operator who adds senders and raises the setting starts afresh, rather
# than keeping last week's slower measurement (the plan never goes fast enough to measure it again).
MEASURED_KEY = "sms:sender:measured-rate:{sender}:{capacity}"
PLAN_RATE_KEY = "sms:reminders:plan-rate:{end}"
REPLAN_CHUNK = 2000
MEASURE_SPAN = timedelta(seconds=60)
# The rate is only a measurement of the sender when texts were waiting for it (a backlog this old).
BACKLOG_AGE = timedelta(seconds=60)


def _at(day: date, moment) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


def window_on() -> bool:
    return sms_setting("SMS_REMINDER_WINDOW_START") != sms_setting("SMS_REMINDER_WINDOW_END")


def quiet_start_after(moment: datetime) -> datetime | None:
    """The first start of quiet hours (SMS_QUIET_HOURS_START, local time) after `moment`; None if there are none
    (a start equal to the end)."""
    starts = sms_setting("SMS_QUIET_HOURS_START")
    if starts == sms_setting("SMS_QUIET_HOURS_END"):
        return None
    day = timezone.localtime(moment).date()
    start = _at(day, starts)
    return start if start > moment else _at(day + timedelta(days=1), starts)


def reminder_window(day: date) -> tuple[datetime, datetime]:
    """The day-before reminders' window on `day` (the day before their slots): its end never in quiet hours."""
    start = _at(day, sms_setting("SMS_REMINDER_WINDOW_START"))
    end = _at(day, sms_setting("SMS_REMINDER_WINDOW_END"))
    quiet = quiet_start_after(start)
    return start, max(start, min(end, quiet) if quiet else end)


# --- The sender's capacity ------------------------------------------------------------------------------------


def rate_measured() -> float | None:
    """Texts a second the sender managed the last time texts were waiting for it (None: never measured)."""
    value = cache.get(_measured_key())
    return float(value) if value else None


def _measured_key() -> str:
    return MEASURED_KEY.format(sender=sender_key(), capacity=sms_setting("SMS_SENDER_CAPACITY_PER_SECOND"))


def rate_for_plan() -> float:
    """The rate the plan uses: the configured capacity, the send rate limit, or the measured rate, the lowest."""
    rates = [rate for rate in (sms_setting("SMS_SENDER_CAPACITY_PER_SECOND"), sms_setting("SMS_RATE_PER_SECOND"),
                               rate_measured()) if rate and rate > 0]  # a rate limit of 0 is no limit
    return max(0.01, min(rates)) if rates else 10.0


def plan_times(count: int, *, start: datetime, rate: float) -> list[datetime]:
    """`count` send times from `start` (a whole second), never more than `rate` in any one second: row i goes at
    start + floor(i / rate) seconds."""
    return [start + timedelta(seconds=math.floor(index / rate)) for index in range(count)]


def _ceil_second(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


# --- Writing the reminders ------------------------------------------------------------------------------------


Timing = Callable[[list[tuple[int, str]]], list[tuple[datetime | None, datetime | None]]]


def reminder_timing(*, kind: str, now: datetime, starts: dict[int, datetime]) -> Timing:
    """For notify.sms.services.outbox.messages_record_bulk: each reminder's (send_after, send_by), given its
    (booking id, status) in priority order (soonest slot first). A day-before reminder gets the next free second
    of today's window (after the last one planned, so a beat run that writes the rest continues the plan) and the
    window's end; a starts-soon reminder its slot's start; neither ever the inside of quiet hours."""
    quiet = quiet_start_after(now)
    if kind == DAY_BEFORE and window_on():
        window_start, window_end = reminder_window(timezone.localtime(now).date())

        def day_before(items):
            pending = sum(status == Status.PENDING for _, status in items)
            last = SmsMessage.objects.filter(send_by=window_end, send_after__isnull=False).aggregate(
                last=Max("send_after"))["last"]
            start = max(window_start, _ceil_second(now), last + timedelta(seconds=1) if last else window_start)
            rate = rate_for_plan()
            cache.set(PLAN_RATE_KEY.format(end=window_end.isoformat()), rate, timeout=2 * 24 * 3600)
            times = iter(plan_times(pending, start=start, rate=rate))
            return [(next(times), window_end) if status == Status.PENDING else (None, None) for _, status in items]

        return day_before
    if kind == SOON:
        return lambda items: [(None, min(starts[booking_id], quiet) if quiet else starts[booking_id])
                              for booking_id, _ in items]
    return lambda items: [(None, quiet) for _ in items]


# --- Sending ---------------------------------------------------------------------------------------------------


def validity_seconds(*, send_by: datetime | None, quiet_bound: bool, now: datetime) -> int:
    """Twilio's ValidityPeriod for a text sent now: the seconds to its latest useful time (and, for a text that
    waits out quiet hours, to their start), else SMS_VALIDITY_SECONDS; at most Twilio's 10 hours. Under 1: too
    late to send at all."""
    latest = [send_by] if send_by is not None else []
    if quiet_bound and quiet_start_after(now):
        latest.append(quiet_start_after(now))
    if not latest:
        return min(VALIDITY_MAX, int(sms_setting("SMS_VALIDITY_SECONDS")))
    return min(VALIDITY_MAX, math.floor((min(latest) - now).total_seconds()))


def messages_drop_late(*, now: datetime) -> int:
    """Mark "dropped_late" every text never attempted that is still waiting at its latest useful time (a row an
    attempt may have reached Twilio with is the send path's: it looks the text up first). Returns how many."""
    return SmsMessage.objects.filter(status=Status.PENDING, attempts=0, send_by__lte=now).update(
        status=Status.SKIPPED, status_rank=SmsMessage.RANK[Status.SKIPPED], skip_reason=DROPPED_LATE,
        next_attempt_at=None, updated_at=now)


def _rate_measure(*, now: datetime) -> float | None:
    """While planned texts wait longer than BACKLOG_AGE, the sender is the limit: what it accepted in the last
    MEASURE_SPAN is its capacity, kept for a week for the next plans. None when there is no backlog."""
    backlog = SmsMessage.objects.filter(status=Status.PENDING, send_after__isnull=False,
                                        next_attempt_at__lte=now - BACKLOG_AGE).exists()
    if not backlog:
        return None
    accepted = SmsMessage.objects.filter(accepted_at__gt=now - MEASURE_SPAN, accepted_at__lte=now).count()
    if not accepted:
        return None  # nothing went at all: an outage (workers, Twilio), not a capacity
    rate = accepted / MEASURE_SPAN.total_seconds()
    cache.set(_measured_key(), rate, timeout=7 * 24 * 3600)
    return rate


def reminders_release(*, now: datetime | None = None, enqueue: Callable[..., None] | None = None) -> dict:
    """The minute's sweep: drop what is too late, hand the planned rows due before the next run to Celery with a
    countdown to their second, and measure the sender if texts are waiting. Safe to run twice: each send claims its
    row, and one not released (a run missed) is the outbox sweep's once due."""
    from notify.sms.services.outbox import message_enqueue

    now = now or timezone.now()
    enqueue = enqueue or message_enqueue
    dropped = messages_drop_late(now=now)
    since = cache.get(HORIZON_KEY)
    if not isinstance(since, datetime) or since > now + RELEASE_AHEAD or since < now - RELEASE_AHEAD:
        since = now - RELEASE_AHEAD
    until = now + RELEASE_AHEAD
    # Not those planned past their window's end (they do not fit): the drop above marks them when it comes.
    rows = SmsMessage.objects.filter(status=Status.PENDING, send_after__isnull=False, next_attempt_at__gte=since,
                                     next_attempt_at__lt=until).filter(
        next_attempt_at__lt=F("send_by")).order_by("next_attempt_at", "id")
    released = 0
    for row_id, due in rows.values_list("id", "next_attempt_at"):
        enqueue(row_id, countdown=max(0.0, (due - now).total_seconds()))
        released += 1
    cache.set(HORIZON_KEY, until, timeout=24 * 3600)
    measured = _rate_measure(now=now)
    return {"dropped": dropped, "released": released, "measured": measured,
            "replanned": reminders_replan(now=now, after=until)}


def reminders_replan(*, now: datetime, after: datetime) -> int:
    """If the plan's rate changed since today's reminders were planned (more senders and a higher capacity
    setting, or a slower sender measured), plan again those not yet handed over (due from `after` on), in the same
    order, from `after` at the new rate. Returns how many were moved (0: the rate is the same)."""
    if not window_on():
        return 0
    window_start, window_end = reminder_window(timezone.localtime(now).date())
    key = PLAN_RATE_KEY.format(end=window_end.isoformat())
    planned_at, rate = cache.get(key), rate_for_plan()
    if not planned_at or now >= window_end or abs(rate - planned_at) <= 0.05 * planned_at:
        return 0
    waiting = SmsMessage.objects.filter(kind=DAY_BEFORE, status=Status.PENDING, attempts=0, send_by=window_end,
                                        send_after__isnull=False, next_attempt_at__gte=after)
    ids = list(waiting.order_by("send_after", "id").values_list("id", flat=True))
    released = SmsMessage.objects.filter(kind=DAY_BEFORE, send_by=window_end, send_after__isnull=False,
                                         send_after__lt=after).aggregate(last=Max("send_after"))["last"]
    start = max(window_start, _ceil_second(after), released + timedelta(seconds=1) if released else window_start)
    # Rows due after `after` are neither handed over nor due, so no send claims one while they move.
    moved = 0
    for first in range(0, len(ids), REPLAN_CHUNK):
        rows = [SmsMessage(pk=pk, send_after=moment, next_attempt_at=moment, updated_at=now)
                for index, pk in enumerate(ids[first:first + REPLAN_CHUNK], start=first)
                for moment in [start + timedelta(seconds=math.floor(index / rate))]]
        moved += SmsMessage.objects.bulk_update(rows, ["send_after", "next_attempt_at", "updated_at"])
    cache.set(key, rate, timeout=2 * 24 * 3600)
    return moved


# --- The coordinators' view of it -----------------------------------------------------------------------------


def reminder_plan_summary(*, now: datetime | None = None, day: date | None = None) -> dict:
    """Today's (or `day`'s) day-before reminders against their window: how many, the rate, when the last is planned,
    how many do not fit, and what has become of them (sent, waiting, dropped late, failed, not sent)."""
    now = now or timezone.now()
    day = day or timezone.localtime(now).date()
    start, end = reminder_window(day)
    planned = SmsMessage.objects.filter(kind=DAY_BEFORE, send_by=end, send_after__isnull=False)
    late = Q(skip_reason=DROPPED_LATE) | Q(status=Status.FAILED, error_code__in=_dropped_late_codes())
    totals = planned.aggregate(
        total=Count("id"), first=Min("send_after"), last=Max("send_after"),
        wont_fit=Count("id", filter=Q(send_after__gte=end)),
        waiting=Count("id", filter=Q(status__in=[Status.PENDING, Status.SENDING])),
        accepted=Count("id", filter=Q(status__in=[Status.QUEUED, Status.SENT])),
        delivered=Count("id", filter=Q(status=Status.DELIVERED)),
        dropped_late=Count("id", filter=late),
        failed=Count("id", filter=Q(status__in=[Status.FAILED, Status.UNDELIVERED]) & ~late),
        not_sent=Count("id", filter=Q(status=Status.SKIPPED) & ~Q(skip_reason=DROPPED_LATE)),
    )
    last_fits = planned.filter(send_after__lt=end).aggregate(last=Max("send_after"))["last"]
    state = "before" if now < start else "during" if now < end else "after"
    sent_last_minute = (SmsMessage.objects.filter(accepted_at__gt=now - MEASURE_SPAN, accepted_at__lte=now).count()
                        if state == "during" else None)
    return {
        "day": day, "start": start, "end": end, "state": state, "window_on": window_on(), **totals,
        "finish": (last_fits + timedelta(seconds=1)) if last_fits else None,
        "rate": rate_for_plan(), "capacity": sms_setting("SMS_SENDER_CAPACITY_PER_SECOND"),
        "measured": rate_measured(), "fit": _fit(start, end, rate_for_plan()),
        "sent_per_second": (sent_last_minute / MEASURE_SPAN.total_seconds()) if sent_last_minute is not None else None,
        "by_second_max": _busiest_second(planned),
    }


def _fit(start: datetime, end: datetime, rate: float) -> int:
    return math.floor((end - start).total_seconds() * rate)


def _busiest_second(planned) -> int:
    busiest = planned.values("send_after").annotate(n=Count("id")).order_by("-n").values_list("n", flat=True).first()
    return busiest or 0


def _dropped_late_codes() -> list[int]:
    from notify.sms.backends import DROPPED_LATE_CODES

    return sorted(DROPPED_LATE_CODES)
