"""`make test` never rewrites the committed screenshots; `make screenshots` does."""

from pathlib import Path

from django.conf import settings

from tests.web.conftest import DOCS_SCREENSHOTS, screenshots_dir


def test_test_runs_keep_screenshots_out_of_docs(monkeypatch):
    monkeypatch.delenv("FRONTROOM_SCREENSHOTS", raising=False)
    assert screenshots_dir() == Path(settings.VAR_DIR) / "screenshots"
    assert DOCS_SCREENSHOTS not in screenshots_dir().parents and screenshots_dir() != DOCS_SCREENSHOTS


def test_make_screenshots_writes_the_docs_screenshots(monkeypatch):
    monkeypatch.setenv("FRONTROOM_SCREENSHOTS", "docs")
    assert screenshots_dir() == DOCS_SCREENSHOTS


def test_make_screenshots_target_sets_the_variable():
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    assert "FRONTROOM_SCREENSHOTS=docs" in makefile.split("\nscreenshots:", 1)[1].split("\n\n", 1)[0]
