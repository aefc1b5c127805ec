from django.core.management.base import BaseCommand

from dispatch.demo import demo_load, demo_sign_in_lines


class Command(BaseCommand):
    help = (
        "Load the demo data on the 2024 boundaries: seven real GE2024 marginals (Hendon, Poole, South Basildon and "
        "East Thurrock, Peterborough, Beverley and Holderness, Clwyd North, Dundee Central) with the seats bordering "
        "them, postcodes around them, demo hosts in the marginals and next door to them, a coordinator and sessions "
        "for the coming weekends. Safe to run again: nothing is duplicated. --set 2010 loads the earlier demo on the "
        "2010–2024 seats (2017 marginals) instead, e.g. to try `move_to_boundary_set 2024` on it. The demo's set "
        "becomes the current one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--set", dest="boundary_set", choices=["2024", "2010"], default="2024",
                            help="Boundary set of the demo (default: %(default)s).")

    def handle(self, *args, **options):
        summary = demo_load(boundary_set=options["boundary_set"])
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready on the {options['boundary_set']} boundaries: {summary['seats']} seats, "
            f"{summary['postcodes']} postcodes, {summary['sessions_created']} new sessions."
        ))
        for line in demo_sign_in_lines():
            self.stdout.write(line)
