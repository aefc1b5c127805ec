"""UK postcode normalisation and validation."""

import re

from django.utils.translation import gettext

from core.errors import InvalidInput

# Outward code: A9, A99, AA9, AA99, A9A, AA9A; inward code: 9AA. Plus the special GIR 0AA.
_POSTCODE_RE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2})$")
_OUTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


def postcode_normalise(raw: str) -> str:
    """Return the canonical form ("SW11 1AA") or raise InvalidInput naming the postcode field."""
    compact = re.sub(r"\s+", "", str(raw or "")).upper()
    if not _POSTCODE_RE.match(compact):
        raise InvalidInput(
            gettext("%(raw)s is not a valid UK postcode.") % {"raw": raw}, code="invalid_postcode", fields={"postcode": [gettext("Not a valid UK postcode.")]}
        )
    return f"{compact[:-3]} {compact[-3:]}"


def district_normalise(raw: str) -> str | None:
    """The canonical postcode district ("SW11") if `raw` is one ("sw11", " SW1A "), else None."""
    compact = re.sub(r"\s+", "", str(raw or "")).upper()
    return compact if _OUTCODE_RE.match(compact) else None


def outcode_of(postcode: str) -> str:
    return postcode.split(" ")[0]


def is_outcode(raw: str) -> bool:
    return bool(_OUTCODE_RE.match(re.sub(r"\s+", "", str(raw or "")).upper()))


def district_of(raw: str) -> str | None:
    """The canonical postcode district of a full postcode ("s11 8ab" -> "S11") or of a district ("s11" -> "S11");
    None if `raw` is neither. No lookup: what the shared page cache keys searches by (web.page_cache)."""
    district = district_normalise(raw)
    if district is not None:
        return district
    try:
        return outcode_of(postcode_normalise(raw))
    except InvalidInput:
        return None
