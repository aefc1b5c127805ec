from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core.retention import login_records_purge, retention_purge

        retention_purge.connect(login_records_purge, weak=False, dispatch_uid="core.login_records_purge")
