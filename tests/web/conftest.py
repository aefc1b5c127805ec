"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against the live server on PostgreSQL.

Playwright cannot download its own browsers here, so the suite launches the system Chromium with the flags
that keep it off the network; every request goes to the live server on 127.0.0.1. A missing Chromium fails
the run (it is installed by .ci/run), it never skips.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler

from tests.conftest import REPO_ROOT

CHROMIUM = os.environ.get("FRONTROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # The browser's own language: date pickers show and take day/month/year as a UK volunteer's phone does.
    "--lang=en-GB",
]
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
PHONE_VIEWPORT = {"width": 375, "height": 812}

# Playwright's sync API runs an event loop in this thread; the tests' own database reads are plain
# synchronous calls made between browser steps, never from inside the loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The live server's own static handler looks files up by their unhashed names; hand every request to the
# app instead, so static files come from whitenoise (hashed, compressed) exactly as under gunicorn.
StaticFilesHandler._should_handle = lambda self, path: False


# On Linux, Chromium lays out date pickers by the process's LANG and needs its en-GB pack (Debian's
# chromium-l10n) to do so; --lang and the context's locale alone leave them in US order.
CHROMIUM_ENV = {"LANG": "en_GB.UTF-8"}
CHROMIUM_EN_GB = Path(os.environ.get("FRONTROOM_CHROMIUM_LOCALES", "/usr/lib/chromium/locales")) / "en-GB.pak"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` (.ci/run does).")
    if not CHROMIUM_EN_GB.exists():
        pytest.fail(f"Chromium's en-GB locale is missing ({CHROMIUM_EN_GB}): `apt-get install -y chromium-l10n`.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True,
            "env": {**os.environ, **CHROMIUM_ENV}}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE_VIEWPORT, "locale": "en-GB", "timezone_id": "Europe/London"}


@pytest.fixture
def no_js_page(browser, live_server):
    """A phone-sized page with JavaScript switched off: the volunteer journey must work without it."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, java_script_enabled=False, locale="en-GB",
                                  timezone_id="Europe/London")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def only_local_requests(page):
    """Fail the test if the page asks any host other than the live server."""
    foreign = []

    def check(request):
        host = request.url.split("/")[2] if "://" in request.url else ""
        if request.url.startswith(("http://", "https://")) and not host.startswith(("127.0.0.1", "localhost")):
            foreign.append(request.url)

    page.on("request", check)
    yield foreign
    assert foreign == [], f"requests to other hosts: {foreign}"


def screenshots_dir() -> Path:
    """Where screenshots go: docs/screenshots/ only for `make screenshots`, so `make test` never rewrites them."""
    if os.environ.get("FRONTROOM_SCREENSHOTS") == "docs":
        return DOCS_SCREENSHOTS
    return Path(settings.VAR_DIR) / "screenshots"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of a main page (to docs/screenshots/ under `make screenshots`)."""
    directory = screenshots_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the page as loaded, of the given impacts (WCAG 2.x A and AA rules)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"] if v["impact"] in impacts
    ]


@pytest.fixture(params=[False, True], ids=["no-js", "js"])
def phone_page(request, browser, live_server):
    """A 375 px page, once without JavaScript (the volunteer's pages must work so) and once with it (axe is a
    script: it runs in that one); `page.javascript` says which."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, java_script_enabled=request.param, locale="en-GB",
                                  timezone_id="Europe/London")
    page = context.new_page()
    page.javascript = request.param
    yield page
    context.close()


@pytest.fixture
def page_cache_on(settings):
    """The shared page cache on, in a key prefix of this test's own (tests/web/test_page_cache*.py)."""
    import uuid

    from web import cache, page_cache

    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_URL = settings.REDIS_URL
    settings.PAGE_CACHE_KEY_PREFIX = f"test-pages-{uuid.uuid4().hex[:8]}"
    settings.PAGE_CACHE_ADMIT_AFTER = 1  # stored on the first miss (test_a_page_asked_for_once_is_not_stored)
    cache.reset()
    page_cache.reset()
    yield
    cache.clear()
    cache.reset()
    page_cache.reset()
