"""GET /api/: an index of the API, read from its own URL patterns so it cannot fall out of date."""

import re
from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and entry.name and "(?P<format>" not in route and "\\.(?P" not in route:
            yield entry.name, route


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@cache
def api_endpoints() -> list[dict]:
    found = {}
    for name, route in _walk(get_resolver("config.api_urls").url_patterns):
        route = _GROUP.sub(r"<\1>", route.replace("^", "").replace("$", ""))
        found.setdefault(name, "/api/" + route)
    return [{"name": name, "path": path} for name, path in sorted(found.items(), key=lambda item: item[1])]


class ApiIndexView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    # Left out of the schema: it is the list of the schema's own paths, with links to the schema and the docs.
    @extend_schema(
        exclude=True,
        summary="Index of the API",
        responses=inline_serializer("ApiIndex", {
            "schema": serializers.CharField(), "docs": serializers.CharField(), "redoc": serializers.CharField(),
            "endpoints": inline_serializer("ApiEndpoint", {"name": serializers.CharField(),
                                                           "path": serializers.CharField()}, many=True),
        }),
    )
    def get(self, request):
        return Response({"schema": "/api/schema/", "docs": "/api/docs/", "redoc": "/api/redoc/",
                         "endpoints": api_endpoints()})
