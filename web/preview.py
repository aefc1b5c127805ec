"""A session's link preview (og:image): a 1200x630 PNG drawn with Pillow from public facts only.

What a messaging app shows when someone pastes /s/<id>/: the title, the seat, the postcode district, the day and
times, and the brand. Never the address, the host's name or the full postcode; ``preview_text`` is the one place
that picks the words, and the drawing gets nothing else. No "places left": apps keep a preview for days, and the
count would be stale by then (the page itself says it).

Drawing costs ~30 ms and the PNG is ~17 KB (BENCHMARKS.md): it is drawn once per version
of the session (its updated_at) and language, and kept in Django's cache (Redis in production) for
PREVIEW_CACHE_SECONDS; a version nobody asks for again simply expires.
"""

import io
import unicodedata
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from web.sharing import session_day

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
BRAND = "#b3003c"  # site.css --brand; white on it passes AA contrast
WHITE = "#ffffff"
PAPER = "#f4f2ef"  # --wash
INK = "#1b1b1f"
MUTED = "#4a4a55"
TITLE_SIZES = (72, 60, 50, 42)  # the largest that fits the title in three lines
MAX_TITLE_LINES = 3
PALETTE_COLOURS = 16
DRAWING = "d1"  # change it with the picture's layout or font: every cached and fetched copy is then redrawn


@dataclass(frozen=True)
class PreviewText:
    title: str
    place: str  # "Sheffield Hallam · S10 area"
    when: str
    brand: str
    tagline: str


def preview_text(session) -> PreviewText:
    """Every word the image shows, from the session's public facts only."""
    return PreviewText(
        title=session.title,
        place=_("%(seat)s · %(district)s area") % {"seat": session.seat.name, "district": session.postcode_district},
        when=session_day(session),
        brand=settings.SITE_NAME,
        tagline=_("Canvass session: book a place, no account needed"),
    )


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    """PREVIEW_FONT (DejaVu Sans: Debian's fonts-dejavu-core, installed by the Dockerfile) when the machine has it,
    else Pillow's built-in font, which needs no file but draws ASCII only (see _drawable)."""
    try:
        return ImageFont.truetype(settings.PREVIEW_FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _builtin_font() -> bool:
    # load_default(size=...) opens Pillow's embedded font from bytes, a font file from its path.
    return not isinstance(_font(40).path, str)


def _drawable(text: str) -> str:
    """The words as the font can draw them. Pillow's built-in font has no accents: a Welsh seat ("Ynys Môn") would
    show a box, so it is folded to plain letters ("Ynys Mon") and anything else it lacks dropped."""
    if not _builtin_font():
        return text
    folded = unicodedata.normalize("NFKD", text.replace("–", "-").replace("’", "'"))
    return "".join(char for char in folded if char.isascii() or char in "…·").replace("  ", " ")


def _pieces(word: str, font, width: int) -> list[str]:
    """A word wider than the picture, cut into pieces that fit (a pasted URL, a long hashtag)."""
    pieces, piece = [], ""
    for char in word:
        if piece and font.getlength(piece + char) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return pieces + [piece]


def _wrap(text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    words = [piece for word in text.split() for piece in
             (_pieces(word, font, width) if font.getlength(word) > width else [word])]
    for word in words:
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _fit(text: str, width: int, sizes: tuple[int, ...], max_lines: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    for size in sizes:
        font = _font(size)
        lines = _wrap(text, font, width)
        if len(lines) <= max_lines and all(font.getlength(line) <= width for line in lines):
            return font, lines
    font = _font(sizes[-1])
    lines = _wrap(text, font, width)[:max_lines]
    last = lines[-1]
    while last and font.getlength(last + "…") > width:  # a long last line or one unbroken word
        last = last[:-1]
    lines[-1] = last.rstrip() + "…"
    return font, lines


def preview_png(text: PreviewText) -> bytes:
    """The picture: a brand band with the name, then the title, the place and the times on paper."""
    text = PreviewText(**{name: _drawable(value) for name, value in vars(text).items()})
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * MARGIN
    draw.rectangle((0, 0, WIDTH, 120), fill=BRAND)
    draw.text((MARGIN, 60), text.brand, font=_font(52), fill=WHITE, anchor="lm")
    font, lines = _fit(text.title, width, TITLE_SIZES, MAX_TITLE_LINES)
    y = 170
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=INK)
        y += int(font.size * 1.2)
    y += 24
    for words, size, colour in ((text.place, 40, INK), (text.when, 40, INK)):
        small, wrapped = _fit(words, width, (size, 34, 28), 1)
        draw.text((MARGIN, y), wrapped[0], font=small, fill=colour)
        y += int(size * 1.35)
    draw.rectangle((0, HEIGHT - 90, WIDTH, HEIGHT), fill=WHITE)
    tag_font, tag = _fit(text.tagline, width, (34, 30, 26), 1)
    draw.text((MARGIN, HEIGHT - 45), tag[0], font=tag_font, fill=MUTED, anchor="lm")
    out = io.BytesIO()
    # Four flat colours and their anti-aliased edges: a 16-colour palette looks the same and makes a PNG of
    # 17 KB, against 62 KB in full colour (and ~250 ms more with optimize=True); BENCHMARKS.md.
    image.quantize(PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()


def preview_version(session) -> str:
    """Names one drawing: the session's version and the language it is drawn in."""
    return f"{session.pk}-{int(session.updated_at.timestamp() * 1_000_000)}-{get_language() or 'en'}-{DRAWING}"


def session_preview_png(session) -> bytes:
    """The session's preview PNG, drawn once per version and language, then from the cache."""
    key = f"session-preview:{preview_version(session)}"
    body = django_cache.get(key)
    if body is None:
        body = preview_png(preview_text(session))
        django_cache.set(key, body, settings.PREVIEW_CACHE_SECONDS)
    return body
