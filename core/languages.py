"""The languages people read Frontroom in (settings.LANGUAGES; docs/languages.md).

A booking, a phone challenge and a host keep the language that was active when they were made, so that a text or
email rendered later by a Celery worker (outside any request) is in the language the person chose."""

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation

LANGUAGE_MAX_LENGTH = 8


def language_supported(code: str | None) -> str:
    """`code` if it is one of settings.LANGUAGES (a variant such as "cy-gb" as its base), else the default."""
    codes = [code for code, _ in settings.LANGUAGES]
    if code:
        code = code.lower()
        if code in codes:
            return code
        base = code.split("-")[0]
        if base in codes:
            return base
    return settings.LANGUAGE_CODE


def language_current() -> str:
    """The active language as stored on a row: a model field default, called when the row is made."""
    return language_supported(translation.get_language())


def language_override(code: str | None) -> AbstractContextManager:
    """Render in `code` (a stored language; empty or unknown means the default), wherever this runs."""
    return translation.override(language_supported(code))
