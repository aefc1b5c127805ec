"""Parties: a booking for the booker and up to PARTY_MAX - 1 others, all taking places together.

What a party may be (party_clean), shared by the booking form, the API and the shrink form, so all three say the
same thing about bad input. The places themselves are taken and given back by volunteers.services (booking_place,
booking_party_shrink); the database refuses a party size outside 1..PARTY_SIZE_LIMIT.
"""

from django.conf import settings
from django.utils.translation import gettext, ngettext

from core.errors import InvalidInput
from volunteers.models import Booking

NAME_MAX_LENGTH = 30  # one first name


def party_max() -> int:
    return settings.PARTY_MAX


def party_size_clean(value, *, field: str = "party_size") -> int:
    """A party size (the booker included) as an int in 1..PARTY_MAX, or InvalidInput naming the field."""
    if isinstance(value, bool) or value in (None, ""):
        size = None
    else:
        try:
            size = int(value)
        except (TypeError, ValueError):
            size = None
    if size is None or not 1 <= size <= party_max():
        message = gettext("A party is 1 to %(max)s people, you included.") % {"max": party_max()}
        # party_too_big: within the schema's bound (PARTY_SIZE_LIMIT) but over the setting.
        code = "party_too_big" if size is not None and size > party_max() else "invalid_party_size"
        raise InvalidInput(message, code=code, fields={field: [message]})
    return size


def party_names_clean(value, *, party_size: int, field: str = "party_names") -> str:
    """The others' first names (a list, or one comma-separated string) as stored: at most party_size - 1 short
    names, joined by ", ". Empty is fine: the names are optional."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(name, str) for name in value):
        names = list(value)
    else:
        message = gettext("Give the first names as a list of words.")
        raise InvalidInput(message, code="invalid_party_names", fields={field: [message]})
    names = [" ".join(name.split()) for name in names]
    names = [name for name in names if name]
    if len(names) > party_size - 1:
        message = ngettext("Give at most %(count)s name: the others coming with you.",
                           "Give at most %(count)s names: the others coming with you.",
                           party_size - 1) % {"count": party_size - 1}
        raise InvalidInput(message, code="party_names_too_many", fields={field: [message]})
    if any(len(name) > NAME_MAX_LENGTH or "," in name for name in names):
        message = gettext("Each first name may be at most %(max)s characters.") % {"max": NAME_MAX_LENGTH}
        raise InvalidInput(message, code="invalid_party_names", fields={field: [message]})
    joined = ", ".join(names)
    if len(joined) > Booking._meta.get_field("party_names").max_length:
        message = gettext("Those names are too long together.")
        raise InvalidInput(message, code="invalid_party_names", fields={field: [message]})
    return joined


def party_names_list(booking: Booking) -> list[str]:
    return [name for name in (booking.party_names or "").split(", ") if name]


def party_others(booking: Booking) -> int:
    return max(0, booking.party_size - 1)


def party_places_phrase(size: int) -> str:
    """What texts and emails say of a party: "" alone, "your places for 3" for a party of 3."""
    if size <= 1:
        return ""
    return ngettext("your places for %(count)s", "your places for %(count)s", size) % {"count": size}
