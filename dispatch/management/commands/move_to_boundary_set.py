"""manage.py move_to_boundary_set: move a live installation to the next boundary set, with a dry run."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from dispatch.services.boundaries import CLEAR_SUCCESSOR_SHARE, boundary_set_move


class Command(BaseCommand):
    help = (
        "Move the live data to another boundary set and make it the current one, e.g. `move_to_boundary_set 2024` "
        "after `import_seats --set 2024` and `import_postcodes --set 2024` (and --kind districts). Each meeting "
        "point's and each volunteer's seat is found again from their postcode in the new set (else from its "
        "district, else the old seat's clear successor); every session that has not ended follows its meeting "
        "point (a session the host put in another seat follows that seat's successor). Priority overrides and "
        "target flags go to the old seat's clear successor (the House of Commons Library's closest successor, "
        f"holding at least {CLEAR_SUCCESSOR_SHARE:.0%} of its people); where there is none, or old seats with "
        "different settings share one, they are listed for a coordinator to set by hand. Sessions that have ended, "
        "their bookings and overflow moves keep the old seats: the old seats' coverage history is kept. One "
        "transaction; safe to run again (the second run finds nothing to move). --dry-run says what would change "
        "and changes nothing. Back up the database first."
    )

    def add_arguments(self, parser):
        parser.add_argument("boundary_set", help="The set to move to, e.g. 2024.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change; change nothing.")
        parser.add_argument("--successors", type=Path,
                            help="The closest-successor CSV (default: elections/boundary_changes_closest_successors_"
                                 "2010set_to_2024set.csv in the shared data).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars on stderr.")

    def handle(self, *args, **options):
        try:
            move = boundary_set_move(to_set=options["boundary_set"], dry_run=options["dry_run"],
                                     successors=options["successors"], progress=not options["no_progress"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        out, verb = self.stdout.write, "would move" if move.dry_run else "moved"
        out(f"{'Dry run: ' if move.dry_run else ''}from the {move.from_set} set to the {move.to_set} set.")
        counts = move.counts
        out(f"Meeting points {verb}: {counts['meeting_points_moved']} (seat found by postcode "
            f"{counts['meeting_points_by_postcode']}, district {counts['meeting_points_by_district']}, successor "
            f"{counts['meeting_points_by_successor']}, not found {counts['meeting_points_by_unresolved']}).")
        out(f"Sessions not yet ended {verb}: {counts['sessions_moved']}; ended sessions kept on their old seats: "
            f"{counts['sessions_kept_as_history']}.")
        out(f"Volunteers {verb}: {counts['volunteers_moved']} (by postcode {counts['volunteers_by_postcode']}, "
            f"district {counts['volunteers_by_district']}, successor {counts['volunteers_by_successor']}, "
            f"not found {counts['volunteers_by_unresolved']}).")
        out(f"Priority overrides and targets {'to carry' if move.dry_run else 'carried'}: {len(move.carried)}"
            + (f" (already carried: {counts['overrides_already_carried']})" if counts["overrides_already_carried"]
               else ""))
        for row in move.carried:
            out(f"  {row['from']} {row['from_name']} -> {row['to']} {row['to_name']}: "
                f"override {row['priority_override']}, target {row['is_target']}")
        if move.to_review:
            out(self.style.WARNING(f"For a coordinator to set by hand ({len(move.to_review)}):"))
            for row in move.to_review:
                out(f"  {row['from']} {row['from_name']}: override {row['priority_override']}, target "
                    f"{row['is_target']}: {row['reason']}" + (f" (closest: {row['to']} {row['to_name']})"
                                                               if row["to"] else ""))
        if move.unresolved:
            out(self.style.WARNING(f"No seat found in the {move.to_set} set ({len(move.unresolved)}):"))
            for line in move.unresolved:
                out(f"  {line}")
        if move.dry_run:
            out(self.style.SUCCESS("Dry run: nothing was changed."))
        elif move.switched:
            out(self.style.SUCCESS(f"The {move.to_set} set is now current."))
        else:
            out(self.style.SUCCESS(f"The {move.to_set} set was already current."))
