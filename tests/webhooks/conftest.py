import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def loopback_allowed(settings):
    """Deliveries may go to http://127.0.0.1 (the local receiver), as nowhere else outside the tests."""
    settings.SMS_RATE_PER_SECOND = 0
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_RETRY_MAX_SECONDS = 0.2
    settings.WEBHOOK_CONNECT_TIMEOUT = 2.0
    settings.WEBHOOK_READ_TIMEOUT = 2.0
    return settings


WORKER_ENV = {
    "SMS_BACKEND": "console", "WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_RETRY_MAX_SECONDS": "1", "WEBHOOK_DELIVERING_STALE_SECONDS": "3",
    "WEBHOOK_CONNECT_TIMEOUT": "2", "WEBHOOK_READ_TIMEOUT": "5",
}


@pytest.fixture
def hook_workers(tmp_path, loopback_allowed):
    """Real `celery worker` processes (prefork, own process group, so kill -9 takes the children too) on the shared
    test Redis, delivering to the loopback receiver."""
    from django.conf import settings

    from tests.sms.conftest import WorkerProcess

    workers = []

    def start():
        worker = WorkerProcess(broker_url=settings.REDIS_URL, api_url="http://127.0.0.1:1", log=tmp_path / "worker.log",
                               extra_env=WORKER_ENV)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
