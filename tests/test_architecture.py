"""The shape of the code, kept by a machine (docs/architecture.md):

- the layers: each app imports only the apps below it, core < seats < sessions < volunteers < notify < dispatch < web,
  and the channels in notify do not import each other (import-linter, with the contracts in .importlinter);
- no module imports another app's private (`_name`) names: what an app offers others is a public service;
- no application module (migrations aside) passes 500 lines (the allow-list below is empty).

Each check is also run on a small tree that breaks it, so that a check that can no longer fail is noticed.
"""

import ast
import re
import textwrap
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parent.parent
APPS = ("core", "seats", "sessions", "volunteers", "notify", "dispatch", "web")
# The Django apps inside a package: each is an app of its own for the private-names rule.
SUB_APPS = ("notify.sms", "notify.email", "notify.webhooks")
MAX_LINES = 500
# Modules allowed over MAX_LINES, with each one's length when it was listed: none since issue 23 split the last
# ones along their seams. The list may only shrink.
TOO_LONG_FOR_NOW: dict[str, int] = {}


def _modules(root: Path, apps=APPS):
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.relative_to(root).parts:
                yield path


def _app_of(module: str) -> str:
    for sub in SUB_APPS:
        if module == sub or module.startswith(sub + "."):
            return sub
    return module.split(".")[0]


def private_imports(root: Path, apps=APPS) -> list[str]:
    """`from other_app.module import _name`, for every module of the apps under root."""
    found = []
    for path in _modules(root, apps):
        relative = path.relative_to(root).with_suffix("")
        here = _app_of(".".join(relative.parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                there = _app_of(node.module)
                if there.split(".")[0] in apps and there != here:
                    found += [f"{relative}.py: from {node.module} import {alias.name}" for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


def long_modules(root: Path, apps=APPS, allowed=None) -> list[str]:
    """Modules over MAX_LINES lines, but those allowed."""
    allowed = TOO_LONG_FOR_NOW if allowed is None else allowed
    found = []
    for path in _modules(root, apps):
        name = path.relative_to(root).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and name not in allowed:
            found.append(f"{name}: {lines} lines")
    return found


def test_the_apps_keep_their_layers():
    # --no-cache: nothing written into the repository; limited to the contracts in the repository's own file.
    assert lint_imports(config_filename=str(REPO / ".importlinter"), no_cache=True, no_logo=True) == 0


def test_no_app_imports_another_apps_private_names():
    assert private_imports(REPO) == []


def test_no_application_module_passes_500_lines():
    assert long_modules(REPO) == []


def test_the_allow_list_names_only_modules_still_too_long():
    # Once one is split, it leaves the list (and the list is to end empty).
    short = [name for name in TOO_LONG_FOR_NOW
             if len((REPO / name).read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert short == []


# --- The checks can fail ---------------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def probe_repo(tmp_path, monkeypatch):
    """A copy of the layers under other names (the real packages are imported already), each app a package."""
    apps = [f"probe_{app}" for app in APPS]
    _tree(tmp_path, {f"{app}/__init__.py": "" for app in apps})
    names = "|".join(APPS)
    config = "\n".join(  # the contracts' module names (indented values), not their titles
        re.sub(rf"\b({names})\b(?=[.\s]|$)", r"probe_\1", line) if line.startswith("    ") else line
        for line in (REPO / ".importlinter").read_text(encoding="utf-8").splitlines())
    (tmp_path / ".importlinter").write_text(config, encoding="utf-8")
    for channel in ("sms", "email", "webhooks"):
        _tree(tmp_path, {f"probe_notify/{channel}/__init__.py": "", f"probe_notify/{channel}/services/__init__.py": "",
                         f"probe_notify/{channel}/services/outbox.py": ""})
    _tree(tmp_path, {"probe_notify/registry.py": "".join(  # as notify.registry loads every channel
        f"import probe_notify.{channel}.services.outbox\n" for channel in ("sms", "email", "webhooks"))})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_lower_app_importing_a_higher_one_breaks_the_contract(probe_repo):
    _tree(probe_repo, {"probe_core/middleware.py": "from probe_web.errors import wants_json\n",
                       "probe_web/errors.py": "def wants_json(request):\n    return True\n"})
    assert lint_imports(config_filename=str(probe_repo / ".importlinter"), no_cache=True, no_logo=True) == 1


def test_a_channel_importing_another_breaks_the_contract(probe_repo):
    _tree(probe_repo, {"probe_notify/email/services/reminders.py": "import probe_notify.sms.services.outbox\n"})
    assert lint_imports(config_filename=str(probe_repo / ".importlinter"), no_cache=True, no_logo=True) == 1


def test_the_probe_tree_alone_keeps_the_contracts(probe_repo):
    _tree(probe_repo, {"probe_web/views.py": "import probe_core\n"})  # downwards: allowed
    assert lint_imports(config_filename=str(probe_repo / ".importlinter"), no_cache=True, no_logo=True) == 0


def test_importing_another_apps_private_name_is_found(tmp_path):
    _tree(tmp_path, {
        "dispatch/services/overflow.py": "from volunteers.services import _set_status, booking_place\n",
        "volunteers/privacy.py": "from volunteers.services import _release_before_delete\n",  # its own app's
        "notify/sms/outbox.py": "from notify.email.outbox import _claim\nfrom notify.outbox import row_finish\n",
        "web/hosts/views.py": "from dispatch.exports import __all__\n",
    })
    assert sorted(private_imports(tmp_path)) == [
        "dispatch/services/overflow.py: from volunteers.services import _set_status",
        "notify/sms/outbox.py: from notify.email.outbox import _claim",
    ]


def test_a_long_module_is_found_unless_listed_and_migrations_are_not_counted(tmp_path):
    long = "x = 1\n" * (MAX_LINES + 1)
    _tree(tmp_path, {"core/long.py": long, "core/listed.py": long, "core/migrations/0001_initial.py": long,
                     "core/short.py": "x = 1\n" * MAX_LINES})
    assert long_modules(tmp_path, allowed={"core/listed.py": MAX_LINES + 1}) == [f"core/long.py: {MAX_LINES + 1} lines"]
