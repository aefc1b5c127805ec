"""The API's only request parser: JSON, with a size limit, a nesting limit and no NUL characters.

DRF reads the body as a stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, and Python's json recurses once
per level: a megabyte of `[` would end in RecursionError (a 500). PostgreSQL refuses NUL in text, so a NUL that
reached a query would be a 500 too; here each is a 400 (413 for size) naming where it was.
"""

import json

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import parsers

from core.errors import InvalidInput, PayloadTooLarge

MAX_JSON_DEPTH = 32


def _check(value, depth: int = 1, path: str = "") -> None:
    """Walk the parsed body (iteratively deep only to MAX_JSON_DEPTH): depth and NUL characters."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(gettext("The JSON body is nested deeper than %(max_json_depth)s levels.") % {"max_json_depth": MAX_JSON_DEPTH}, code="too_deep",
                           fields={path or "non_field_errors": [gettext("Nested deeper than %(max_json_depth)s levels.") % {"max_json_depth": MAX_JSON_DEPTH}]})
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                raise InvalidInput(gettext("Field names cannot contain NUL characters."), code="nul_character",
                                   fields={where.replace("\x00", "\\x00"): [gettext("Contains a NUL character.")]})
            _check(item, depth + 1, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, depth + 1, f"{path}.{index}" if path else str(index))
    elif isinstance(value, str) and "\x00" in value:
        raise InvalidInput(gettext("%(field)s: NUL characters are not allowed.") % {"field": path or 'body'}, code="nul_character",
                           fields={path or "non_field_errors": [gettext("NUL characters are not allowed.")]})


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(limit)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding))
        except RecursionError:
            raise InvalidInput(gettext("The JSON body is nested deeper than %(max_json_depth)s levels.") % {"max_json_depth": MAX_JSON_DEPTH}, code="too_deep",
                               fields={"non_field_errors": [gettext("Nested deeper than %(max_json_depth)s levels.") % {"max_json_depth": MAX_JSON_DEPTH}]}) from None
        except ValueError as exc:
            raise InvalidInput(gettext("JSON parse error: %(exc)s") % {"exc": exc}, code="parse_error",
                               fields={"non_field_errors": [gettext("Not valid JSON.")]}) from None
        _check(data)
        return data
