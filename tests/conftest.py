"""Suite-wide fixtures. The suite needs real PostgreSQL and Redis: a missing service stops the run."""

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from tests import flush
from tests.factories import PostcodeFactory, SeatFactory

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path:
    configured = os.environ.get("FRONTROOM_SHARED_DATA")
    candidates = [Path(configured)] if configured else [REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for candidate in candidates:
        if (candidate / "PROVENANCE.md").exists():
            return candidate
    return candidates[0]


SHARED_DATA = _shared_data_dir()


def pytest_sessionstart(session):
    # Real password hashing costs ~0.3 s per user; the tests are about permissions, not PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages are computed in the suite: a test that books and then reads a page inside one transaction never commits,
    # so no bump would drop the cached page. tests/web/test_page_cache.py turns the shared cache on (page_cache_on).
    settings.PAGE_CACHE_ENABLED = False
    problems = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        problems.append(f"DATABASE_URL must point at PostgreSQL (engine is {engine}); run the suite with `make test`.")
    else:
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
                dbname="postgres", connect_timeout=5,
            ).close()
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL is not reachable: {exc}")
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set; run the suite with `make test`.")
    else:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis is not reachable at {settings.REDIS_URL}: {exc}")
    if not (SHARED_DATA / "PROVENANCE.md").exists():
        problems.append(f"The reference data is missing at {SHARED_DATA} (set FRONTROOM_SHARED_DATA).")
    if not problems and not os.environ.get("GEO_DATA_DIR"):
        # The coordinators' maps read the same reference data the tests found, wherever the checkout is.
        settings.GEO_DATA_DIR = SHARED_DATA / "geo"
        # Each set's maps are its real files: the tests that look at the maps use real 2024 seats, the current set.
        settings.GEO_HEXJSON_PATH = SHARED_DATA / "geo" / "uk-constituencies-2024.hexjson"
        settings.GEO_BOUNDARIES_PATH = SHARED_DATA / "geo" / "pcon_2024set_boundaries_BUC.geojson"
        settings.GEO_HEXJSON_2010_PATH = SHARED_DATA / "geo" / "constituencies.hexjson"
        settings.GEO_BOUNDARIES_2010_PATH = SHARED_DATA / "geo" / "pcon_2010set_boundaries_generalised.topo.json"
    if not problems:
        # Pages use hashed, compressed static file names (whitenoise's manifest), as in production.
        from django.core.management import call_command

        # Once per run: tools/run_tests.py collects for both its groups, pytest-xdist's controller for its workers.
        if not (os.environ.get("FRONTROOM_TEST_STATIC_COLLECTED") or os.environ.get("PYTEST_XDIST_WORKER")
                or _static_collected_and_current()):
            call_command("collectstatic", "--noinput", verbosity=0)
    if problems:
        pytest.exit("Required services are missing:\n  " + "\n  ".join(problems), returncode=3)
    _static_files_scanned_once()
    # A transactional test ends by deleting the rows it left, not by truncating all 57 tables (tests/flush.py).
    flush.install()


def _static_collected_and_current() -> bool:
    """collectstatic hashes and compresses every file again even when none changed (5 s of CPU, before any test
    starts): skip it when the manifest names every source file and is newer than all of them."""
    import json

    from django.contrib.staticfiles import finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    collected_at = manifest.stat().st_mtime
    collected = json.loads(manifest.read_text(encoding="utf-8")).get("paths", {})
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if path not in collected or Path(storage.path(path)).stat().st_mtime > collected_at:
                return False
    return True


def _static_files_scanned_once():
    """Django's test client builds the middleware afresh for every client, and WhiteNoise's middleware stats every
    static file and works out its headers when it is built (some 700 files, from STATIC_ROOT and the finders): that
    was a third of a typical API test's time. The files do not change during a run (collected once, above), so
    each later middleware takes the first one's dictionary for the same directory and the same options. A test
    that points STATIC_ROOT or STATIC_URL elsewhere, or turns on autorefresh, still gets a scan of its own."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    scans: dict[tuple, dict] = {}

    def once(scan):
        def scanned(self, *args, **kwargs):
            if self.autorefresh:  # nothing is scanned: files are looked up per request
                return scan(self, *args, **kwargs)
            key = (scan.__name__, args, tuple(sorted(kwargs.items())), self.static_prefix, self.max_age,
                   self.allow_all_origins, self.charset, self.index_file, self.use_finders,
                   str(settings.STATIC_ROOT), repr(settings.STATICFILES_DIRS), settings.DEBUG)
            if key not in scans:
                before = dict(self.files)
                scan(self, *args, **kwargs)
                scans[key] = {url: found for url, found in self.files.items() if before.get(url) is not found}
            self.files.update(scans[key])
        return scanned

    WhiteNoiseMiddleware.add_files = once(WhiteNoiseMiddleware.add_files)
    WhiteNoiseMiddleware.add_files_from_finders = once(WhiteNoiseMiddleware.add_files_from_finders)


# What a test starts, read from the fixtures it asks for, so that a new test is marked without being told:
# `make test-fast` leaves out these markers (pytest.ini).
_STARTS_A_WORKER = {"celery_worker", "worker_factory", "hook_workers"}
_STARTS_A_SERVER = {"private_redis", "private_postgres", "app_on_private_postgres", "twilio_prism", "prism_url"}
# And what it loads: the reference data files (seat results, boundaries, postcodes) take seconds a test.
_LOADS_REFERENCE_DATA = {"shared_data"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _STARTS_A_WORKER:
            item.add_marker(pytest.mark.worker)
        if fixtures & _STARTS_A_SERVER:
            item.add_marker(pytest.mark.server)
        if fixtures & _LOADS_REFERENCE_DATA:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture
def seat(db):
    """Sheffield, Hallam: a marginal seat (priority 1), where the API's and the hosts' pages' tests hold sessions."""
    return SeatFactory(ons_code="E14000922", name="Sheffield, Hallam", majority_pct=3.7, priority=1)


@pytest.fixture
def postcode(seat):
    """S10 1AA, in `seat`."""
    return PostcodeFactory(postcode="S10 1AA", seat=seat)


@pytest.fixture(autouse=True)
def _celery_eager_by_default():
    """Tasks run in-process unless a test starts a real worker (see the `celery_worker` fixture)."""
    from celery._state import _set_task_join_will_block

    from celery_app import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    # Celery marks "a task is running here, never wait on a result" in one process-wide flag, set and restored
    # around each eager task; two eager tasks in two live-server threads at once can leave it set, and a later
    # test's `.delay().get()` then raises "Never call result.get() within a task".
    _set_task_join_will_block(False)
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def locmem_sms(settings):
    """Texts kept in memory (the locmem SMS backend), unthrottled; the fixture is the outbox, empty at the start."""
    from notify.sms.backends import LocmemBackend

    settings.SMS_BACKEND = "locmem"
    settings.SMS_RATE_PER_SECOND = 0
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


@pytest.fixture
def celery_worker(transactional_db, redis_client):
    """A real Celery worker thread consuming from the Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from celery_app import app

    app.conf.task_always_eager = False
    # A worker keeps its database connections between tasks (CONN_MAX_AGE); these worker threads
    # end with the test, so have them close each connection after its task, or the connections
    # outlive the threads and the test database can't be dropped.
    database = connections.settings[DEFAULT_DB_ALIAS]
    conn_max_age, database["CONN_MAX_AGE"] = database["CONN_MAX_AGE"], 0
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=30) as worker:
            yield worker
    finally:
        database["CONN_MAX_AGE"] = conn_max_age


# Ten minutes into an hour and a day: a rate-limit test that pins core.ratelimit's clock here never sees a
# window end halfway through (the counters' keys are per window).
RATE_LIMIT_NOW = 86400 * 20834 + 600


@pytest.fixture
def ratelimit_clock(monkeypatch) -> int:
    monkeypatch.setattr("core.ratelimit._now", lambda: RATE_LIMIT_NOW)
    return RATE_LIMIT_NOW


@pytest.fixture(autouse=True)
def _language_reset():
    """Each test starts in the default language: LocaleMiddleware activates a request's language in the thread and
    leaves it there (each request activates its own), so a Welsh page in one test would make the next one Welsh."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _rate_limits_start_empty():
    """Every test starts with no hits counted (the counters live in the shared cache), the cache taken as up."""
    from django.core.cache import caches

    import core.broker
    import core.ratelimit

    caches[settings.RATE_LIMIT_CACHE].clear()
    core.ratelimit._cache_unavailable_until = 0.0
    core.broker._broker_down_until = 0.0  # and the broker taken as up (core.broker.enqueue)
    yield
    core.ratelimit._cache_unavailable_until = 0.0
    core.broker._broker_down_until = 0.0


def without_metrics(callbacks: list) -> list:
    """On-commit callbacks other than Prometheus counters' increments (core.metrics counts committed bookings
    that way): what a test about enqueued work should count."""
    return [callback for callback in callbacks
            if not type(getattr(callback, "__self__", None)).__module__.startswith("prometheus_client")]


@pytest.fixture(autouse=True)
def _turnout_read_afresh(settings):
    """Expected turnout (volunteers.turnout) is cached between requests in production; each test reads what it
    just wrote, never another test's history."""
    settings.TURNOUT_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _promotion_at_once(settings):
    """A place freed close to the start is offered to the first waiter with a deadline (volunteers.confirmations);
    most tests' slots start within a day, and test promotion as it is further from the start: at once. The tests
    of offers ask for them (the `promotion_offers` fixture)."""
    settings.PROMOTION_OFFER_WINDOW_HOURS = 0


@pytest.fixture
def promotion_offers(settings):
    settings.PROMOTION_OFFER_WINDOW_HOURS = 24
