"""The README's examples work as written: its URLs answer, its demo accounts sign in where it says, and
every route in its API table exists."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO_PASSWORD = "frontroom-demo"
# Values of the shape each URL placeholder takes (tokens are URL-safe and long).
PLACEHOLDERS = {"ons_code": "E14000922", "token": "t" * 22, "manage_token": "t" * 22, "challenge": "c" * 22}

pytestmark = pytest.mark.django_db


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text from the heading `title` to the next heading of the same level."""
    text = readme_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def example_urls() -> list[str]:
    """The local URLs the README tells a new user to open (placeholders like <token> left out)."""
    paths = re.findall(r"http://127\.0\.0\.1:8000(/[^\s`)]*)", readme_text())
    return sorted({path.rstrip(".,:;") for path in paths if "<" not in path})


def api_table_routes() -> list[tuple[str, str]]:
    """(method, path) for every route in the first column of the README's API table. A `…/x/` after a path
    means a sibling or a child of it; both readings are kept, joined by " | ", and one must resolve."""
    routes = []
    for cell in re.findall(r"^\| (`[^|]+?) \|", section("API overview"), flags=re.M):
        methods, base = None, None
        for token in re.findall(r"`([^`]+)`", cell):
            match = re.fullmatch(r"(?:((?:GET|POST|PATCH|PUT|DELETE)(?:/(?:GET|POST|PATCH|PUT|DELETE))*) )?([/…]\S*)",
                                 token)
            if not match or not (match.group(1) or methods):
                continue
            methods = match.group(1).split("/") if match.group(1) else methods
            path = match.group(2)
            if path.startswith("…/") and base:
                paths = [base.rstrip("/").rsplit("/", 1)[0] + path[1:], base.rstrip("/") + path[1:]]
            elif path.startswith("/"):
                base, paths = path, [path]
            else:
                continue
            routes += [(method, " | ".join(paths)) for method in methods]
    return routes


def test_readme_lists_examples_and_routes():
    assert ("PATCH", "/api/meeting-points/<id>/") in api_table_routes()
    # A guard so that the tests below cannot pass by finding nothing to check.
    assert len(example_urls()) >= 4
    assert len(api_table_routes()) >= 35


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


@pytest.mark.slow  # the whole demo data set
def test_every_example_url_in_the_readme_answers(client, demo):
    for path in example_urls():
        response = client.get(path)
        assert response.status_code == 200, f"README example {path} answered {response.status_code}"


def test_every_route_in_the_readme_api_table_exists():
    for method, path in api_table_routes():
        match = None
        for reading in path.split(" | "):
            concrete = re.sub(r"<([^>]+)>", lambda m: PLACEHOLDERS.get(m.group(1), "1"), reading.split("?")[0])
            try:
                match = resolve(concrete)
                break
            except Resolver404:
                continue
        if match is None:
            pytest.fail(f"README documents {method} {path}, which no URL matches")
        view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
        actions = getattr(match.func, "actions", None)
        if actions is not None:
            assert method.lower() in actions, f"README documents {method} {path}; the route takes {sorted(actions)}"
        elif view_class is not None:
            assert hasattr(view_class, method.lower()), f"README documents {method} {path}; its view has no {method}"


def demo_accounts() -> dict[str, list[str]]:
    """{'hosts': [...], 'coordinators': [...]} from the README's table of demo accounts."""
    accounts = {}
    for who, where, names in re.findall(r"^\| (hosts|coordinators) \| (.+?) \| (.+?) \|$", readme_text(), flags=re.M):
        accounts[who] = re.findall(r"`([a-z]+@example\.org)`", names)  # hosts sign in with their email
        assert "`/host/login/`" in where
    return accounts


@pytest.mark.slow  # the whole demo data set
def test_demo_accounts_sign_in_where_the_readme_says(client, demo):
    accounts = demo_accounts()
    assert len(accounts.get("hosts", [])) >= 5 and accounts.get("coordinators")
    assert f"`{DEMO_PASSWORD}`" in readme_text()
    for username in accounts["hosts"] + accounts["coordinators"]:
        client.logout()
        response = client.post("/host/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, f"demo account {username} could not sign in at /host/login/"
        assert client.get("/host/").status_code == 200
    for username in accounts["coordinators"]:
        client.logout()
        client.post("/host/login/", {"username": username, "password": DEMO_PASSWORD})
        assert client.get("/coordinate/").status_code == 200
        assert client.get("/admin/").status_code == 200
