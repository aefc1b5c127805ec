"""What a Celery worker loads before forking its prefork children (celery_app._load_before_forking)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import sys
import django
django.setup()
from celery import signals
import celery_app  # noqa: F401 - connects the signal handlers
assert "config.urls" not in sys.modules
signals.worker_init.send(sender=None)
from django.template import engines
loader = engines["django"].engine.template_loaders[0]
print("config.urls" in sys.modules, sorted(key for key in loader.get_template_cache if key.startswith("email/")))
"""


@pytest.mark.server  # a child process
def test_a_worker_loads_the_urlconf_and_the_email_templates_before_forking_its_children():
    # Otherwise every child imports the whole URLconf (every view, the API, the solver) on its first link.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loaded, templates = result.stdout.strip().split(" ", 1)
    assert loaded == "True"
    for name in ("booking", "host_notice", "host_digest"):
        assert f"email/{name}.txt" in templates and f"email/{name}.html" in templates
