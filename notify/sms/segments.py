"""SMS segment counting: GSM 03.38 7-bit vs UCS-2, as carriers bill them."""

import re
import unicodedata
from dataclasses import dataclass

# The GSM 03.38 basic character set. One character outside it (an emoji, a curly quote, a
# non-breaking space) forces the whole message into UCS-2 and more than doubles its cost.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (an escape plus the character).
GSM7_EXTENDED = set("^{}\\[~]|€\f")

# One regex scan instead of a set lookup per character: texts are checked several times each while
# an assignment commit renders tens of thousands of them.
_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENDED))) + "]")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return _NOT_GSM7.search(text) is None


def segments_count(text: str) -> SegmentCount:
    """How many SMS segments `text` costs and in which encoding."""
    if is_gsm7(text):
        units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return SegmentCount(encoding=encoding, units=units, segments=segments)


# Look-alikes that users and editors paste in; replacing them keeps a message in GSM-7.
_GSM7_FRIENDLY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u00a0": " ", "\u2026": "...", "\u2022": "-", "\u200b": "",
    # Letters Unicode does not decompose to a base letter.
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "ı": "i",
})


def gsm7_friendly(text: str) -> str:
    """Replace typographic look-alikes with GSM-7 characters; genuine non-Latin text is kept."""
    return text.translate(_GSM7_FRIENDLY)


def gsm7_fold(text: str) -> str:
    """Fold letters GSM-7 lacks onto their base letter ("Siân" → "Sian") so one name does not force UCS-2."""
    text = gsm7_friendly(text)
    if is_gsm7(text):
        return text
    folded = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            folded.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        folded.append(base if base and is_gsm7(base) else ch)
    return "".join(folded)
