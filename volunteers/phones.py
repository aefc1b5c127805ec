"""UK mobile numbers: parse, validate and format as E.164."""

import phonenumbers
from django.utils.translation import gettext
from phonenumbers import PhoneNumberType

from core.errors import InvalidInput

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def phone_normalise(raw: str, *, field: str = "phone") -> str:
    """Return the E.164 form of a UK mobile number ("07400 123456" → "+447400123456"; Ofcom's
    drama range 07700 900xxx is refused: no real phone has it) or raise InvalidInput."""
    try:
        number = phonenumbers.parse(str(raw or ""), "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(gettext("Not a valid phone number."), code="invalid_phone", fields={field: [gettext("Not a valid phone number.")]})
    if number.country_code != 44 or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidInput(
            gettext("Frontroom texts volunteers: give a UK mobile number."), code="invalid_phone",
            fields={field: [gettext("Must be a UK mobile number.")]},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
