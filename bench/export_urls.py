"""bench/export.py's server: the app's URLs plus the baseline it is measured against (never part of the app)."""

from django.http import HttpResponse
from django.urls import include, path

from core.exports import csv_lines
from volunteers import exports


def export_list(request):
    """The same rows and CSV writer as GET /api/exports/bookings/, but the query materialised in a list and the
    whole file built in memory before the first byte is sent: what streaming avoids."""
    query = exports.bookings_export_query(seat=request.GET.get("seat") or None)
    rows = list(exports._bookings_rows(query))
    return HttpResponse("".join(csv_lines(exports.BOOKINGS.header, rows)), content_type="text/csv; charset=utf-8")


urlpatterns = [
    path("bench/export-list/", export_list),
    path("", include("config.urls")),
]
