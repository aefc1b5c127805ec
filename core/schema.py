"""The OpenAPI schema documents the errors each operation can answer with, in the one error shape."""

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. invalid, not_found, slot_overlap.")
    message = serializers.CharField(help_text="One sentence for a person.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Per input field (dotted for nested ones), what is wrong with it.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` names each field and what is wrong with it.",
    "401": "Not signed in: send `Authorization: Token <key>`.",
    "403": "Signed in, but not allowed (not your meeting point or session; coordinators only).",
    "404": "No such object, or not one of yours.",
    "409": "Conflicts with the current state (an overlapping booking, a past or cancelled session, ...).",
    "429": "Too many attempts (a rate limit of docs/limits.md, or a login lockout): wait `Retry-After` seconds.",
}
RETRY_AFTER_HEADER = {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                      "description": "Seconds to wait before trying again."}}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_statuses(operation):
            if code not in responses:
                responses[code] = {**self._get_response_for_code(ErrorSerializer, code),
                                   "description": ERROR_DESCRIPTIONS[code]}
                content = responses[code].get("content")
                if content and "application/json" not in content:  # a CSV export: its errors are JSON all the same
                    responses[code]["content"] = {"application/json": next(iter(content.values()))}
                elif content:
                    responses[code]["content"] = {"application/json": content["application/json"]}
                if code == "429":
                    responses[code]["headers"] = RETRY_AFTER_HEADER
        return operation

    def _error_statuses(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        codes = []
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes += ["401", "403"]
        # A bad path id, or a page number past the end (DRF's page pagination answers that with 404).
        if any(p["in"] == "path" or (p["in"] == "query" and p["name"] == "page") for p in parameters):
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH") and not self.path.startswith("/api/auth/"):
            codes.append("409")
        if any(getattr(throttle, "scope", None) for throttle in getattr(self.view, "throttle_classes", [])):
            codes.append("429")  # core.ratelimit.ip_throttle
        # What the rules above cannot see, declared on the view: {action or method: ["401", ...]}.
        declared = getattr(self.view, "schema_error_statuses", {})
        codes += declared.get(getattr(self.view, "action", None), []) + declared.get(self.method, [])
        return sorted(set(codes))
