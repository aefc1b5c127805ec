"""manage.py assign: the batch assignment from the command line, with a progress bar."""

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import get_current_timezone, make_aware
from tqdm import tqdm

from core.errors import DomainError
from dispatch.models import AssignmentRun
from dispatch.services import assignment


def _moment(value: str, *, end: bool = False) -> datetime:
    try:
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        day = moment = None
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if moment is None:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD) or date-time (ISO 8601).")
    return moment if moment.tzinfo else make_aware(moment, get_current_timezone())


class Command(BaseCommand):
    help = (
        "Assign volunteers who signed up with availability to open slots in a period, optimally: each volunteer "
        "at most one slot, within their availability and travel limit, slot capacities respected, maximising "
        "priority-weighted coverage minus travel (see dispatch/solver.py). Shows the totals; books nothing "
        "unless --commit is given. The same as POST /api/dispatch/runs/ and .../commit/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True,
                            help="Start of the period: YYYY-MM-DD (local midnight) or an ISO date-time.")
        parser.add_argument("--to", dest="date_to", required=True,
                            help="End of the period: YYYY-MM-DD (inclusive day) or an ISO date-time.")
        parser.add_argument("--region", help="Only slots in seats of this region (e.g. 'Yorkshire and The Humber').")
        parser.add_argument("--seat", dest="seats", action="append", default=[], metavar="ONS_CODE",
                            help="Only slots in this seat; repeat for several.")
        parser.add_argument("--k", type=int, default=None, help="Arcs kept per volunteer (default DISPATCH_NEAREST_K).")
        parser.add_argument("--commit", action="store_true", help="Book the proposed assignments.")
        parser.add_argument("--user", help="Username recorded as the coordinator in the audit log.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs).")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            run = assignment.run_start(
                user=user, date_from=_moment(options["date_from"]), date_to=_moment(options["date_to"], end=True),
                region=options["region"], seat_codes=options["seats"], k=options["k"], enqueue=False,
            )
            run = self._with_bar("Solving", options, lambda cb: assignment.run_execute(run_id=run.pk, progress=cb))
            totals = run.totals
            self.stdout.write(
                f"Run #{run.pk}: {totals['assigned']} assigned, {totals['unassigned']} unassigned "
                f"{totals['unassigned_by_reason']}, travel {totals['travel_km_total']} km "
                f"(median {totals['travel_km_median']} km), objective {totals['objective']}."
            )
            for row in totals["seats"][:20]:
                self.stdout.write(f"  {row['name']} (priority {row['priority']}): {row['assigned']} of "
                                  f"{row['free_places']} free places")
            if options["commit"]:
                assignment.run_commit(run_id=run.pk, user=user, enqueue=False)
                run = self._with_bar("Booking", options,
                                     lambda cb: assignment.run_commit_execute(run_id=run.pk, progress=cb))
                self.stdout.write(f"Committed: {run.totals['booked']} booked, skipped {run.totals['skipped_at_commit']}.")
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc
        if run.state not in (AssignmentRun.State.READY, AssignmentRun.State.COMMITTED):
            raise CommandError(f"Run #{run.pk} ended {run.state}: {run.error}")

    def _with_bar(self, label: str, options, work):
        with tqdm(total=100, desc=label, unit="%", disable=options["no_progress"], file=self.stderr) as bar:
            def callback(percent: int, message: str) -> None:
                bar.set_postfix_str(message[:60])
                bar.update(max(0, percent - bar.n))

            return work(callback)
