"""Paging with stated limits: a page size, limit or offset that is not a whole number in range is a 400 naming it
(DRF's own classes fall back to the default on garbage and clamp silently, and a huge offset is a slow scan)."""

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import pagination

from core.errors import InvalidInput


def _whole(request, name: str, *, minimum: int, maximum: int, default: int | None) -> int | None:
    if name not in request.query_params:
        return default
    raw = request.query_params[name].strip()
    if not raw.isascii() or not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise InvalidInput(gettext("%(name)s: A whole number from %(minimum)s to %(maximum)s.") % {"name": name, "minimum": minimum, "maximum": maximum}, code="invalid_paging",
                           fields={name: [gettext("A whole number from %(minimum)s to %(maximum)s.") % {"minimum": minimum, "maximum": maximum}]})
    return int(raw)


def _integer_parameter(name: str, description: str, minimum: int, maximum: int) -> dict:
    return {"name": name, "required": False, "in": "query", "description": description,
            "schema": {"type": "integer", "minimum": minimum, "maximum": maximum}}


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        return _whole(request, self.page_size_query_param, minimum=1, maximum=self.max_page_size,
                      default=self.page_size)

    def get_page_number(self, request, paginator):
        return _whole(request, self.page_query_param, minimum=1, maximum=settings.API_MAX_OFFSET, default=1)

    def get_schema_operation_parameters(self, view):
        return [
            _integer_parameter(self.page_query_param, "A page number (past the last page: 404).", 1,
                               settings.API_MAX_OFFSET),
            _integer_parameter(self.page_size_query_param, "Results per page.", 1, self.max_page_size),
        ]


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 20
    max_limit = 100

    def get_limit(self, request):
        return _whole(request, self.limit_query_param, minimum=1, maximum=self.max_limit, default=self.default_limit)

    def get_offset(self, request):
        return _whole(request, self.offset_query_param, minimum=0, maximum=settings.API_MAX_OFFSET, default=0)

    def get_schema_operation_parameters(self, view):
        return [
            _integer_parameter(self.limit_query_param, "Results per page.", 1, self.max_limit),
            _integer_parameter(self.offset_query_param, "Results to skip.", 0, settings.API_MAX_OFFSET),
        ]
