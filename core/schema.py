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
    "413": "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
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
        if "requestBody" in operation:
            codes += ["413", "415"]
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


# Refusals of a request the schema's types and patterns allow, for reasons a schema cannot state (another
# object, another field, the clock). Only these codes may answer a schema-valid request with 400; the fuzz test
# (tests/api/test_schema_fuzz.py) holds the API to that, and the schema lists them on every 400.
SEMANTIC_ERROR_CODES = {
    "unknown_postcode": "a well-formed postcode that is not in the postcode tables",
    "unknown_district": "a well-formed postcode district (e.g. SW11) that is not in the postcode tables",
    "invalid_phone": "a well-formed mobile number in a range that is not allocated",
    "unknown_seat": "no seat has that ONS code",
    "unknown_meeting_point": "not one of your meeting points",
    "date_order": "an end that is not after its start",
    "date_out_of_range": "a date-time before year 1 or after year 9999 once taken to UTC",
    "in_the_past": "a slot or availability window that has already begun or ended",
    "over_room_capacity": "a slot with more places than its room",
    "too_many_slots": "more slots in a session than MAX_SLOTS_PER_SESSION",
    "weak_password": "a password Django's password validators refuse",
    "username_taken": "a username someone already has",
    "phone_required": "neither `mobile` nor `phone` given",
    "seat_or_session": "both or neither of `seat` and `session`",
    "unknown_region": "no seat is in that region",
    "invalid_url": "a webhook URL that is not https:// (unless WEBHOOK_ALLOW_HTTP) or not a public address",
    "code_wrong": "a code that is not the one texted",
    "code_expired": "a code past its time",
    "code_used": "a code typed once already",
    "code_attempts": "a code after too many wrong tries",
    "slots_overlap": "two slots of a set whose times overlap",
    # A session's repeats (sessions.recurrence):
    "no_dates": "neither `weekly_until` nor `dates`, or none of the weekly days is new and still to come",
    "until_too_early": "a `weekly_until` that is not after the session's own day",
    "duplicate_date": "the same date twice in `dates`",
    "date_taken": "a date the session's series has a session on already",
    "too_many_copies": "more repeats at once than COPIES_MAX",
    "party_too_big": "a party_size over PARTY_MAX (a setting, at most the schema's maximum)",
    "party_names_too_many": "more party_names than the others in the party (party_size - 1)",
    "party_cannot_grow": "a party_size bigger than the booking's party: parties only shrink",
}


# drf-spectacular does not state a nested list serializer's allow_empty=False.
NON_EMPTY_LISTS = {"SessionCreateRequest": ["slots"], "VolunteerRegisterRequest": ["availability"],
                   "PatchedVolunteerChangeRequest": ["availability"]}


def postprocess(result, generator, request, public):
    """Request bodies refuse unknown fields (core.serializers), so their schemas say `additionalProperties: false`;
    every 400 lists the codes that can refuse a schema-valid request."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
        for field in NON_EMPTY_LISTS.get(name, ()):
            component["properties"][field]["minItems"] = 1
        if name.endswith("Request"):
            for prop in component.get("properties", {}).values():
                # DRF trims whitespace before checking a required text is not blank: say so.
                if prop.get("type") == "string" and prop.get("minLength") and "pattern" not in prop \
                        and "format" not in prop and "enum" not in prop:
                    prop["pattern"] = r"\S"
    semantic = "; ".join(f"`{code}`: {why}" for code, why in SEMANTIC_ERROR_CODES.items())
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("400")
            if response is not None:
                response["description"] = (f"{ERROR_DESCRIPTIONS['400']} A request the schema allows can still be "
                                           f"refused with one of these codes: {semantic}.")
    return result


def _webhook(summary: str, fields: dict, required: list[str], ok: dict) -> dict:
    form = {"type": "object", "properties": fields, "required": required}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"post": {
        "operationId": summary.lower().replace(" ", "_"), "summary": summary, "tags": ["twilio"],
        "description": "Called by Twilio, signed with `X-Twilio-Signature` over SMS_WEBHOOK_BASE_URL + path and "
                       "the form fields; anything else is a 403. Handled once per MessageSid (and status).",
        "parameters": [{"in": "header", "name": "X-Twilio-Signature", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
        "responses": {**ok, "400": {**error, "description": ERROR_DESCRIPTIONS["400"]},
                      "403": {**error, "description": "Missing or invalid X-Twilio-Signature."},
                      "413": {**error, "description": "The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."}},
    }}


_SID = {"type": "string", "pattern": r"^\S+$", "maxLength": 64}
TWILIO_PATHS = {
    "/twilio/inbound/": _webhook(
        "Twilio inbound SMS", {"MessageSid": _SID, "From": {"type": "string", "pattern": r"\S", "maxLength": 32},
                               "Body": {"type": "string"}},
        ["MessageSid", "From"], {"200": {"description": "TwiML: the reply, if any.",
                                          "content": {"text/xml": {"schema": {"type": "string"}}}}}),
    "/twilio/status/": _webhook(
        "Twilio status callback", {"MessageSid": _SID,
                                   "MessageStatus": {"type": "string", "pattern": r"\S", "maxLength": 20},
                                   "ErrorCode": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                                   "ErrorMessage": {"type": "string"}},
        ["MessageSid", "MessageStatus"], {"204": {"description": "Recorded (or a replay: nothing changed)."}}),
}


def add_twilio_webhooks(result, generator, request, public):
    """The webhooks are plain Django views (TwiML, not DRF): documented here so the schema covers them too."""
    result.setdefault("paths", {}).update(TWILIO_PATHS)
    return result
