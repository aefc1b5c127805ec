from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from core.logs import private_link_redaction_install, request_id_clear
        from core.retention import login_records_purge, retention_purge

        retention_purge.connect(login_records_purge, weak=False, dispatch_uid="core.login_records_purge")
        request_finished.connect(request_id_clear, dispatch_uid="core.request_id_clear")
        private_link_redaction_install()
