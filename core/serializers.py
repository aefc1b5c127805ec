"""Input serializers that refuse what they do not know: an unknown key in a POST or PATCH body is a 400 naming it
(a typo such as `capcity` would otherwise be dropped silently and the request answered 200)."""

from django.utils.translation import gettext
from rest_framework import serializers

from core.errors import InvalidInput

# What the schema says a UK mobile number and a postcode look like (the services check the rest: an unallocated
# number range is invalid_phone, a well-formed postcode nobody knows is unknown_postcode).
PHONE_PATTERN = r"^(\+44 ?|0)7[1-57-9][0-9]{2} ?[0-9]{6}$"
SEAT_CODE_PATTERN = r"^[A-Za-z][0-9]{8}$"
POSTCODE_PATTERN = r"^[A-Za-z]{1,2}[0-9][0-9A-Za-z]? ?[0-9][A-Za-z]{2}$"
# Where a volunteer says where they are, a postcode district alone ("SW11") will do (seats.geocoding).
POSTCODE_OR_DISTRICT_PATTERN = r"^ *[A-Za-z]{1,2}[0-9][0-9A-Za-z]?( ?[0-9][A-Za-z]{2})? *$"


class PatternField(serializers.RegexField):
    """A RegexField whose mismatch keeps the code the services use for the same mistake (invalid_phone,
    invalid_postcode), so the API says the same thing whichever layer refuses it."""

    def __init__(self, regex, *, error_code: str, message: str, **kwargs):
        super().__init__(regex, **kwargs)
        self.error_code, self.message = error_code, message

    def run_validation(self, data=serializers.empty):
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            if any(getattr(detail, "code", None) == "invalid" for detail in exc.detail):
                raise InvalidInput(self.message, code=self.error_code, fields={self.field_name: [self.message]}) from None
            raise


def phone_field(**kwargs) -> PatternField:
    return PatternField(PHONE_PATTERN, error_code="invalid_phone", message="Not a valid phone number.",
                        max_length=32, **kwargs)


def postcode_field(**kwargs) -> PatternField:
    return PatternField(POSTCODE_PATTERN, error_code="invalid_postcode", message="Not a valid UK postcode.",
                        max_length=10, **kwargs)


def postcode_or_district_field(**kwargs) -> PatternField:
    kwargs.setdefault("help_text", "A UK postcode, or only its district (e.g. SW11): then its centre is used.")
    return PatternField(POSTCODE_OR_DISTRICT_PATTERN, error_code="invalid_postcode",
                        message="Not a valid UK postcode or postcode district.", max_length=10, **kwargs)


class RejectUnknownFieldsMixin:
    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
            # DRF's CharField takes 12 or true for "12" or "True"; the schema says string, so a number is refused.
            not_text = sorted(name for name, field in self.fields.items()
                              if isinstance(field, serializers.CharField) and not field.read_only
                              and data.get(name) is not None and not isinstance(data.get(name), str))
            if not_text:
                raise serializers.ValidationError({name: [gettext("Must be text.")] for name in not_text})
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


class QuerySerializer(serializers.Serializer):
    """Query parameters: `?date_to=` is a 400 naming date_to, as the schema (minLength, format) says, where DRF
    would take an empty value for a missing one."""

    def to_internal_value(self, data):
        blank = sorted(name for name, field in self.fields.items()
                       if name in data and data.get(name) == "" and not getattr(field, "allow_blank", False))
        if blank:
            raise serializers.ValidationError({name: ["Give a value or leave the parameter out."] for name in blank})
        return super().to_internal_value(data)
