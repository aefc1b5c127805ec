"""`make run` on another port: texted, emailed and calendar links point where it serves."""

import os
import subprocess

from django.conf import settings


def _dry_run(*args: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"} | env
    return subprocess.run(["make", "-n", "run", *args], cwd=settings.BASE_DIR, env=environment, check=True,
                          capture_output=True, text=True).stdout


def test_links_follow_the_port_make_run_serves_on():
    commands = _dry_run("PORT=8101")
    assert "PUBLIC_BASE_URL=http://127.0.0.1:8101 " in commands
    assert "runserver 127.0.0.1:8101" in commands
    assert ":8000" not in commands


def test_an_explicit_public_base_url_wins():
    commands = _dry_run("PORT=8101", PUBLIC_BASE_URL="https://frontroom.example")
    assert "PUBLIC_BASE_URL=https://frontroom.example " in commands
