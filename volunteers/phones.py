"""UK mobile numbers: parse, validate and format as E.164."""

import functools

import phonenumbers
from django.utils.translation import gettext
from phonenumbers import PhoneNumberType

from core.errors import InvalidInput

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def phone_normalise(raw: str, *, field: str = "phone") -> str:
    """Return the E.164 form of a UK mobile number ("07400 123456" → "+447400123456"; Ofcom's
    drama range 07700 900xxx is refused: no real phone has it) or raise InvalidInput."""
    e164, problem = _parsed(str(raw or ""))
    if problem == "invalid":
        raise InvalidInput(gettext("Not a valid phone number."), code="invalid_phone", fields={field: [gettext("Not a valid phone number.")]})
    if problem == "not_mobile":
        raise InvalidInput(
            gettext("Frontroom texts volunteers: give a UK mobile number."), code="invalid_phone",
            fields={field: [gettext("Must be a UK mobile number.")]},
        )
    return e164


# A booking request's number is checked twice (the serializer names every bad field at once, then the service),
# and libphonenumber's parse and checks, twice, were 5% of that request's CPU under cProfile (BENCHMARKS.md "CPU per
# request of the mix, in process"): the verdict is kept per typed string, the messages translated at each call.
@functools.lru_cache(maxsize=4096)
def _parsed(raw: str) -> tuple[str, str]:
    """(E.164, "") for a UK mobile, else ("", "invalid") or ("", "not_mobile")."""
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return "", "invalid"
    if number.country_code != 44 or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return "", "not_mobile"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""
