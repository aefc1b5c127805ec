"""Every message a person reads is marked for translation: domain errors raised by the services (their message
and the messages of their fields), the rate limits' messages, and the templates' words. A scan of the source, so a
new unmarked message fails here, and a fake catalogue proves the marked ones are really looked up."""

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

APPS = ("core", "seats", "sessions", "volunteers", "dispatch", "web")
ERRORS = {"DomainError", "InvalidInput", "NotFound", "PermissionDenied", "Conflict", "InvalidState",
          "NotAuthenticated", "RateLimited"}
MARKERS = {"gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "_"}


def _sources():
    for app in APPS:
        for path in sorted((REPO_ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _is_text(node) -> bool:
    """A literal a person would read: a str constant or an f-string (not a marked call, a name or an expression)."""
    return (isinstance(node, ast.Constant) and isinstance(node.value, str) and any(c.isalpha() for c in node.value)) \
        or isinstance(node, ast.JoinedStr)


def _unmarked_in(call: ast.Call) -> list:
    found = []
    if _name(call.func) in ERRORS and call.args and _is_text(call.args[0]):
        found.append(call.args[0])
    for keyword in call.keywords:
        if keyword.arg == "message" and _is_text(keyword.value):
            found.append(keyword.value)
        if keyword.arg == "fields" and isinstance(keyword.value, ast.Dict):
            for value in keyword.value.values:
                items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
                found += [item for item in items if _is_text(item)]
    return found


def _name(func) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def unmarked_messages() -> list[str]:
    problems = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (_name(node.func) in ERRORS or _name(node.func) in (
                    "rate_limit", "limit_ip", "ip_throttle")):
                for text in _unmarked_in(node):
                    problems.append(f"{path.relative_to(REPO_ROOT)}:{text.lineno}: {ast.unparse(text)[:70]}")
    return problems


def test_every_domain_error_message_is_marked_for_translation():
    problems = unmarked_messages()
    assert problems == [], f"{len(problems)} unmarked messages:\n" + "\n".join(problems)


def _write_mo(path: Path, catalogue: dict[str, str]) -> None:
    """A GNU gettext .mo file (the format msgfmt writes), so the test needs no gettext tools."""
    import struct

    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **catalogue}.items())
    ids = [key.encode() for key, _ in entries]
    strs = [value.encode() for _, value in entries]
    header = 7 * 4
    table = header + 16 * len(entries)
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), table + len(blob)))
        blob += data + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, len(entries), header, header + 8 * len(entries), 0, 0)
    out += b"".join(struct.pack("<2I", *pair) for pair in offsets[:len(entries)])
    out += b"".join(struct.pack("<2I", *pair) for pair in offsets[len(entries):])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out + blob)


@pytest.fixture
def welsh(tmp_path, settings):
    """A made-up Welsh catalogue for two messages, on LOCALE_PATHS (Django resets its catalogues when it changes)."""
    _write_mo(tmp_path / "cy" / "LC_MESSAGES" / "django.mo", {
        "This slot is full.": "Mae'r slot hwn yn llawn.",
        "Full.": "Llawn.",
        "Enter a date, like 06/12/2026.": "Rhowch ddyddiad, fel 06/12/2026.",
    })
    settings.LOCALE_PATHS = [str(tmp_path)]
    from django.utils import translation

    with translation.override("cy"):
        yield


@pytest.mark.django_db
def test_a_services_error_is_looked_up_in_the_active_language(welsh):
    from core.errors import Conflict
    from tests.factories import MeetingPointFactory, PostcodeFactory, SeatFactory, SlotFactory
    from tests.factories import book as book_slot
    from volunteers.services import booking_swap

    seat = SeatFactory()
    PostcodeFactory(postcode="S10 1AA", seat=seat)
    slot = SlotFactory(session__meeting_point=MeetingPointFactory(seat=seat, postcode="S10 1AA"), capacity=5)
    full = SlotFactory(session=slot.session, capacity=1)
    book_slot(full, "07400 600001", proven=True)
    booking = book_slot(slot, "07400 600002", proven=True)
    with pytest.raises(Conflict) as refused:
        booking_swap(manage_token=booking.manage_token, slot_id=full.pk)
    assert (refused.value.message, refused.value.fields) == ("Mae'r slot hwn yn llawn.", {"slot": ["Llawn."]})


def test_a_forms_date_error_is_looked_up_in_the_active_language(welsh):
    from web.dates import DateField

    with pytest.raises(Exception) as refused:
        DateField().clean("31/31/2026")
    assert "Rhowch ddyddiad" in str(refused.value)


TEMPLATES = REPO_ROOT / "web" / "templates"
# Text outside tags that a person reads; what is left of a template once tags, comments, {% %}, {{ }} and
# entities are taken out. Attributes people read (aria-label, title, alt, placeholder) are checked too.
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]*>", re.S)
_DJANGO = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
_READ_ATTRS = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"{]*[A-Za-z][^"{]*)"')
# Symbols that read the same in every language the pages may be translated to, and class names; and the language
# switch's names, each written in its own language (docs/languages.md).
_NOT_WORDS = re.compile(r"^\(?\.ics\)?$|^km\b[\s–-]*$|^(English|Cymraeg)$")
_BLOCKS_NOT_READ = re.compile(r"{%\s*block\s+body_class\s*%}.*?{%\s*endblock\s*%}", re.S)


def _unmarked_template_text(text: str) -> list[str]:
    # Words inside {% translate %} / {% blocktranslate %} are marked: take those blocks out first.
    text = re.sub(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}", "", text, flags=re.S)
    text = _BLOCKS_NOT_READ.sub("", text)
    found = [match for match in _READ_ATTRS.findall(text)]
    plain = _DJANGO.sub(" ", _TAG.sub(" ", _DJANGO.sub(lambda m: m.group(0).replace(">", " "), text)))
    plain = re.sub(r"&[a-z#0-9]+;", " ", plain)
    found += [words.strip() for words in re.split(r"\s{2,}|\n", plain)
              if re.search(r"[A-Za-z]{2}", words) and not _NOT_WORDS.match(words.strip())]
    return found


def test_every_templates_words_are_marked_for_translation():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        found = _unmarked_template_text(path.read_text(encoding="utf-8"))
        if found:
            problems[str(path.relative_to(REPO_ROOT))] = found
    assert problems == {}
