from django.apps import AppConfig


class TravelConfig(AppConfig):
    name = "travel"

    def ready(self) -> None:
        from travel.receivers import receivers_connect

        receivers_connect()
