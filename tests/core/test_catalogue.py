"""Every user-facing string of the volunteers' and hosts' side has its Welsh (docs/languages.md): the catalogue is
complete and compiled, no template shows words outside a translate tag, and no Python string escapes extraction."""

import ast
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template.base import Lexer, TokenType

from core.catalogue import catalogue_problems, po_entries

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"

# The volunteers' and hosts' templates, the texts and the emails. The coordinators' pages stay English.
TEMPLATES = [
    *sorted((ROOT / "web/templates/web").glob("*.html")),
    *sorted((ROOT / "web/templates/web/volunteer").glob("*.html")),
    *sorted((ROOT / "web/templates/web/hosts").glob("*.*")),
    *sorted((ROOT / "notify/email/templates/email").glob("*.*")),
    *sorted((ROOT / "notify/sms/templates/sms").glob("*.txt")),
]
# Words a page may show as they are, in any language: names, and the texts' reply keywords.
ALLOWED_WORDS = {"Frontroom", "Cymraeg", "English", "WhatsApp", "ics"}
# Attributes people read or hear (a screen reader reads aria-label and alt).
READ_ATTRIBUTES = re.compile(r"""\b(?:alt|title|aria-label|placeholder)\s*=\s*("[^"]*"|'[^']*')""")
# The tags whose insides are shown to nobody, and the opening of the document.
UNSHOWN = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<!doctype[^>]*>", re.S | re.I)
TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&#?\w+;")
WORD = re.compile(r"[^\W\d_]{2,}")


def words_outside_translation(source: str) -> list[str]:
    """The words of `source` (a Django template) that a reader sees and that no translate tag wraps."""
    shown, depth, comment = [], 0, False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            comment = {"comment": True, "endcomment": False}.get(name, comment)
            depth += {"blocktranslate": 1, "blocktrans": 1, "endblocktranslate": -1, "endblocktrans": -1}.get(name, 0)
            shown.append("\x00")  # a tag's output is the tag's business: translated or data
        elif token.token_type == TokenType.TEXT and not depth and not comment:
            shown.append(token.contents)
        else:
            shown.append("\x00")
    text = UNSHOWN.sub(" ", "".join(shown))
    attributes = " ".join(match[1:-1] for match in READ_ATTRIBUTES.findall(text))
    readable = ENTITY.sub(" ", TAG.sub(" ", text) + " " + attributes)
    return [word for word in WORD.findall(readable) if word not in ALLOWED_WORDS]


def test_every_string_has_welsh_and_the_compiled_catalogue_is_current():
    # makemessages into a copy of locale/ (as `make messages` would), then every entry must have its Welsh.
    try:
        call_command("messages", check=True)
    except CommandError as failed:
        pytest.fail(f"Strings without Welsh, or a stale .mo: run `make messages` and translate:\n{failed}")


def test_the_check_names_each_untranslated_or_fuzzy_string_and_a_stale_mo(tmp_path):
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    po = copy / "cy" / "LC_MESSAGES" / "django.po"
    source = po.read_text(encoding="utf-8")
    assert '\nmsgstr "Archebu"\n' in source
    source = source.replace('\nmsgstr "Archebu"\n', '\nmsgstr "Archebwch"\n')  # a translation changed: .mo stale
    po.write_text(source + '\nmsgid "A string nobody translated"\nmsgstr ""\n\n'
                  '#, fuzzy\nmsgid "A guess"\nmsgstr "Dyfaliad"\n', encoding="utf-8")
    assert catalogue_problems(LOCALE, compiled_dir=LOCALE) == []
    problems = catalogue_problems(copy, compiled_dir=copy)
    assert "cy: untranslated: 'A string nobody translated'" in problems
    assert "cy: fuzzy: 'A guess'" in problems
    assert any("is not compiled from its django.po" in problem for problem in problems)


def test_the_catalogue_is_welsh_with_welsh_plural_forms():
    header = po_entries(LOCALE / "cy" / "LC_MESSAGES" / "django.po")[0]["msgstr"][0]
    assert "Language: cy\n" in header and "nplurals=4;" in header
    entries = po_entries(LOCALE / "cy" / "LC_MESSAGES" / "django.po")
    plurals = [entry for entry in entries if entry["msgid_plural"]]
    assert plurals and all(len(entry["msgstr"]) == 4 for entry in plurals)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_shows_words_outside_a_translate_tag(path):
    assert words_outside_translation(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(ROOT)} shows words no translate tag wraps: wrap them in {{% translate %}} or "
        "{% blocktranslate %} and run `make messages`")


def test_the_template_scan_catches_plain_words_and_attributes_but_not_translated_ones():
    assert words_outside_translation("<p>Book now</p>") == ["Book", "now"]
    assert words_outside_translation('<img alt="A map" src="/x.png">') == ["map"]
    assert words_outside_translation('<a href="{% url "x" %}" class="button">{{ title }}</a>') == []
    assert words_outside_translation("{% load i18n %}<p>{% translate 'Book now' %}</p>") == []
    assert words_outside_translation("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %} &middot; ") == []
    assert words_outside_translation("<script>let go = 1;</script>{# a note #}<!-- a comment -->") == []


# Python files of the volunteers' and hosts' side, where xgettext must find every string (core.catalogue).
PYTHON = [path for pattern in ("web/*.py", "web/volunteer/*.py", "web/hosts/*.py", "web/templatetags/*.py",
                               "volunteers/*.py", "sessions/*.py", "notify/sms/*.py", "notify/sms/services/*.py",
                               "notify/email/*.py", "notify/email/services/*.py", "seats/*.py", "core/*.py")
          for path in sorted(ROOT.glob(pattern))]
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


def _gettext_inside_fstrings(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            lines += [call.lineno for call in ast.walk(node) if isinstance(call, ast.Call)
                      and isinstance(call.func, ast.Name) and call.func.id in GETTEXT_NAMES]
    return lines


@pytest.mark.parametrize("path", PYTHON, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_translated_string_hides_inside_an_fstring(path):
    # xgettext reads an f-string as one literal: a gettext call inside it is never extracted, so never translated.
    assert _gettext_inside_fstrings(path.read_text(encoding="utf-8")) == [], path


def test_every_field_of_the_volunteers_and_hosts_forms_is_labelled_for_translation():
    from django import forms
    from django.utils.functional import Promise

    from web.hosts import forms as host_forms
    from web.volunteer import forms as volunteer_forms

    untranslated = []
    for module in (volunteer_forms, host_forms):
        for name, form_class in vars(module).items():
            if not (isinstance(form_class, type) and issubclass(form_class, forms.BaseForm)
                    and form_class.__module__ == module.__name__):
                continue
            for field_name, field in form_class.base_fields.items():
                for what in ("label", "help_text"):
                    value = getattr(field, what)
                    if value and not isinstance(value, Promise):
                        untranslated.append(f"{name}.{field_name}.{what}: {value!r}")
    assert untranslated == []


def test_the_check_extracts_into_its_copy_and_leaves_the_real_catalogue_alone(tmp_path, monkeypatch):
    from core.management.commands.messages import Command

    monkeypatch.chdir(ROOT)  # where `make messages` runs: plain makemessages would also pick ./locale
    real = (LOCALE / "cy" / "LC_MESSAGES" / "django.po").read_bytes()
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    po = copy / "cy" / "LC_MESSAGES" / "django.po"
    header = po.read_text(encoding="utf-8").split("\n\n")[0]
    po.write_text(header + "\n", encoding="utf-8")  # a catalogue that has lost every string
    Command()._extract(copy)
    assert 'msgid "My bookings"' in po.read_text(encoding="utf-8")
    assert (LOCALE / "cy" / "LC_MESSAGES" / "django.po").read_bytes() == real
