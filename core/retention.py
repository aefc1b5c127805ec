"""The retention purge's hook for personal data that no volunteer row points at: login attempts and records
(django-axes, core.auth). (Twilio webhook receipts, notify.sms, are not purged: they hold no personal data and
are the only guard against a replayed signed webhook.) volunteers.privacy's purge, run by
`manage.py purge_personal_data` and its beat task, sends `retention_purge`; each app that keeps such rows
connects a receiver that deletes (or, on a dry run, counts) its rows older than the cutoff and returns
{what: how many}. The hook lives here so that no app imports one above it.
"""

from datetime import datetime

from django.dispatch import Signal
from django.utils import timezone

retention_purge = Signal()  # sender=None, cutoff=datetime, dry_run=bool -> {label: count}


def retention_purge_run(*, cutoff: datetime, dry_run: bool = False) -> dict[str, int]:
    """Every receiver's rows older than `cutoff`, deleted (or only counted); {label: count}, by label."""
    counts: dict[str, int] = {}
    for _receiver, found in retention_purge.send(sender=None, cutoff=cutoff, dry_run=dry_run):
        for label, count in (found or {}).items():
            counts[label] = counts.get(label, 0) + count
    return dict(sorted(counts.items()))


def rows_older_purge(queryset, *, dry_run: bool) -> int:
    """Delete the queryset's rows (their dependants with them), or only count them; how many of its model."""
    if dry_run:
        return queryset.count()
    _total, by_model = queryset.delete()
    return by_model.get(queryset.model._meta.label, 0)


def login_records_purge(sender, *, cutoff: datetime, dry_run: bool = False, **kwargs) -> dict[str, int]:
    """django-axes' rows older than the cutoff: failed-login attempts (with the username and address tried) and
    the login and failure logs. An attempt whose lockout may still be in force (younger than AXES_COOLOFF_TIME)
    is kept whatever the cutoff, so a purge never lifts a lockout."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cooloff = get_cool_off()
    attempts_cutoff = min(cutoff, timezone.now() - cooloff) if cooloff else cutoff
    older = {"dry_run": dry_run}
    return {
        "login attempts": rows_older_purge(AccessAttempt.objects.filter(attempt_time__lt=attempts_cutoff), **older),
        "login records": (rows_older_purge(AccessLog.objects.filter(attempt_time__lt=cutoff), **older)
                          + rows_older_purge(AccessFailureLog.objects.filter(attempt_time__lt=cutoff), **older)),
    }
