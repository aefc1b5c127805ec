from django.core.management.base import BaseCommand

from dispatch.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo data: seven real 2017 marginals (Croydon Central, Derby North, Sheffield Hallam, Battersea, "
        "Leeds North West, Brighton Kemptown, Canterbury) with their neighbours, postcodes around them, demo hosts, "
        "a coordinator and sessions for the coming weekends. Safe to run again: nothing is duplicated."
    )

    def handle(self, *args, **options):
        summary = demo_load()
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {summary['seats']} seats, {summary['postcodes']} postcodes, "
            f"{summary['sessions_created']} new sessions."
        ))
        self.stdout.write(f"Sign in at /admin/ as 'coordinator' (or a host such as 'priya') with password '{DEMO_PASSWORD}'.")
