"""CSV exports streamed to the client (docs/exports.md): rows are written as the database cursor yields them, so
an export of 100,000 bookings never sits in memory, and every cell is safe to open in a spreadsheet."""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): starting with = + - @, a tab or a CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...except a plain number (a signed integer or decimal, an E.164 phone number): nothing to execute in it, and a
# leading quote would spoil the number for whoever imports it.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
ROWS_PER_CHUNK = 200  # rows joined into one chunk of the response: fewer, larger writes to the socket
ITERATOR_CHUNK = 2000  # rows per fetch from the server-side cursor


@dataclass(frozen=True)
class Export:
    """What an export is: its name (in the audit log), the file name, and its columns with what each holds (the
    header row, docs/exports.md and the OpenAPI schema all read them from here)."""

    name: str
    filename: str
    columns: tuple[tuple[str, str], ...]

    @property
    def header(self) -> list[str]:
        return [name for name, _ in self.columns]

    def describe(self) -> str:
        return "Columns, in order:\n\n" + "\n".join(f"- `{name}`: {what}" for name, what in self.columns)


def csv_cell(value) -> str | int | float:
    """One cell: None empty, booleans yes/no, datetimes ISO 8601, text prefixed with ' if it could be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The header, then the rows, as CSV text in chunks of ROWS_PER_CHUNK rows (RFC 4180: CRLF, quotes doubled)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A streamed text/csv attachment. `rows` should be a generator over a queryset's .iterator()."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # personal data: no copy in any cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


def export_response(export: Export, rows: Iterable[Sequence], **filename_fields) -> StreamingHttpResponse:
    """csv_response for `export`: its header row, and its file name with `filename_fields` filled in."""
    return csv_response(filename=export.filename.format(**filename_fields), header=export.header, rows=rows)


class CSVRenderer(BaseRenderer):
    """Lets DRF views negotiate text/csv (Accept: text/csv or ?format=csv); the view then returns csv_response.
    Anything else that reaches it (errors) goes out as JSON: see JsonErrorsMixin."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data, renderer_context=renderer_context)


class JsonErrorsMixin:
    """For API views that may answer CSV: an error is always the one JSON error shape, whatever was accepted."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class CsvExportView(JsonErrorsMixin, APIView):
    """Base for API endpoints that answer only CSV: text/csv (406 for an Accept that rules it out), errors JSON."""

    renderer_classes = [CSVRenderer]


def csv_schema(export: Export, *, description: str = "") -> dict:
    """extend_schema(responses=...) for an export: a text/csv 200 whose description lists the columns."""
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiResponse

    return {(200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description=(
        (description + "\n\n" if description else "") + "A streamed `text/csv; charset=utf-8` attachment (`"
        + export.filename + "`). " + export.describe()))}


def wants_csv(request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return renderer is not None and renderer.format == "csv"
