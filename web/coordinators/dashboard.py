"""Presentation of the coverage dashboard: colour bands, the legend, table sorting and the SVG markup.

No business rule lives here: the figures come from dispatch.services.coverage and the priorities from the
seats table; this module only decides how they look.
"""

import re
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch.services.coverage import shortfall_weight
from web.coordinators.maps import MapShapes

NO_DATA = "#ffffff"  # a seat in the reference map that is not in the seats table
NO_SLOTS = "#d4d4d4"  # a loaded seat without slots in the period (fill colouring)

# Priority 1 is the most important seat: darkest.
PRIORITY_COLOURS = {1: "#6a0052", 2: "#b3186f", 3: "#e0609b", 4: "#f2a7c4", 5: "#fbe3ed"}
# How full the slots are: red where volunteers are needed most, blue where they are full.
FILL_BANDS = (  # (upper bound in %, colour, label)
    (25.0, "#b2182b", gettext_lazy("under 25% of places taken")),
    (50.0, "#ef8a62", gettext_lazy("25–49% taken")),
    (75.0, "#fddbc7", gettext_lazy("50–74% taken")),
    (100.0, "#67a9cf", gettext_lazy("75–99% taken")),
    (None, "#2166ac", gettext_lazy("full")),
)

# How short of proven places a seat is, as a share of its need: dark red where nobody proven is coming.
SHORTFALL_BANDS = (  # (lower bound of shortfall / need, colour, label)
    (0.75, "#7f0000", gettext_lazy("short of 75% or more of its need")),
    (0.5, "#d7301f", gettext_lazy("short of 50–74%")),
    (0.25, "#fc8d59", gettext_lazy("short of 25–49%")),
    (1e-9, "#fdd49e", gettext_lazy("short of under 25%")),
    (None, "#1a9850", gettext_lazy("need met")),
)
NO_NEED = "#e8e8e8"  # a seat that needs nobody in the period
OUT_OF_SCOPE = "#f7f7f7"  # a seat outside a regional organiser's scope

SORT_KEYS = {
    "shortfall": lambda row: (-shortfall_weight(row), row["priority"], row["name"]),
    "need": lambda row: row["need"],
    "proven": lambda row: row["proven"],
    "unproven": lambda row: row["unproven"],
    "priority": lambda row: (row["priority"], row["fill_pct"], row["name"]),
    "name": lambda row: row["name"].lower(),
    "places": lambda row: row["places"],
    "confirmed": lambda row: row["confirmed"],
    "fill": lambda row: row["fill_pct"],
    "waitlisted": lambda row: row["waitlisted"],
    "overflow_sent": lambda row: row["overflow_sent"],
    "overflow_received": lambda row: row["overflow_received"],
}
DEFAULT_SORT = "shortfall"


def sort_rows(rows: list[dict], sort: str) -> list[dict]:
    """Rows sorted by `sort` ("places", or "-places" for descending); an unknown key sorts by priority."""
    descending = sort.startswith("-")
    key = SORT_KEYS.get(sort.lstrip("-"), SORT_KEYS[DEFAULT_SORT])
    return sorted(rows, key=key, reverse=descending)


def shortfall_colour(row: dict | None) -> str:
    if row is None or not row["need"]:
        return NO_NEED
    share = row["shortfall"] / row["need"]
    for floor, colour, _label in SHORTFALL_BANDS:
        if floor is None or share >= floor:
            return colour
    return SHORTFALL_BANDS[-1][1]


def fill_colour(fill_pct: float) -> str:
    for ceiling, colour, _label in FILL_BANDS:
        if ceiling is None or fill_pct < ceiling:
            return colour
    return FILL_BANDS[-1][1]


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    label: str
    count: int


def legend(colouring: str, colours: dict[str, str], mapped: set[str]) -> list[LegendEntry]:
    """The legend of one colouring, each entry with how many seats on the map carry it."""
    counts: dict[str, int] = {}
    for code in mapped:
        counts[colours.get(code, NO_DATA)] = counts.get(colours.get(code, NO_DATA), 0) + 1
    if colouring == "fill":
        entries = [(colour, str(label)) for _ceiling, colour, label in FILL_BANDS]
        entries.append((NO_SLOTS, _("no slots in this period")))
    elif colouring == "shortfall":
        entries = [(colour, str(label)) for _floor, colour, label in SHORTFALL_BANDS]
        entries.append((NO_NEED, _("needs nobody in this period")))
    else:
        entries = [(PRIORITY_COLOURS[p], _("priority %(p)d") % {"p": p} + (_(" (highest)") if p == 1 else ""))
                   for p in sorted(PRIORITY_COLOURS)]
    if OUT_OF_SCOPE in counts:
        entries.append((OUT_OF_SCOPE, _("not one of your seats")))
    entries.append((NO_DATA, _("not loaded in Frontroom")))
    return [LegendEntry(colour, label, counts.get(colour, 0)) for colour, label in entries]


def seat_colours(colouring: str, seats: dict[str, tuple[str, int]], coverage: dict[str, dict],
                 in_scope=None) -> dict[str, str]:
    """Each seat's colour; seats outside `in_scope` (a callable, for a regional organiser) are greyed."""
    if colouring == "fill":
        colours = {code: fill_colour(coverage[code]["fill_pct"]) if coverage.get(code, {}).get("slots") else NO_SLOTS
                   for code in seats}
    elif colouring == "shortfall":
        colours = {code: shortfall_colour(coverage.get(code)) for code in seats}
    else:
        colours = {code: PRIORITY_COLOURS.get(priority, NO_DATA) for code, (_name, priority) in seats.items()}
    if in_scope is not None:
        colours = {code: colour if in_scope(code) else OUT_OF_SCOPE for code, colour in colours.items()}
    return colours


def _seat_title(name: str, priority: int, row: dict | None, formats: tuple[str, str]) -> str:
    if row is None:
        return formats[0] % {"name": name, "priority": priority}
    return formats[1] % {"name": name, "priority": priority, "confirmed": row["confirmed"], "places": row["places"],
                         "fill": f"{row['fill_pct']:g}", "waitlisted": row["waitlisted"], "need": row["need"],
                         "proven": row["proven"], "shortfall": row["shortfall"], "unproven": row["unproven"]}


_DRAWN: dict[int, tuple[MapShapes, tuple]] = {}  # id(shapes) -> (shapes, parts): MapShapes holds dicts, unhashable


def _drawn(shapes: MapShapes) -> tuple[tuple[str, str, str, str, str, str], ...]:
    """The parts of each seat's markup that never change while the process runs (its path data, link and
    tooltip name), built once per map: the 650 path strings are most of the map's bytes, and escaping and
    formatting them again on every request was most of its time. Only colours and figures vary per drawing."""
    cached = _DRAWN.get(id(shapes))
    if cached is not None and cached[0] is shapes:
        return cached[1]
    seat_url = reverse("coordinators:seat", args=["E00000000"]).replace("E00000000", "{}")
    drawn = []
    for code, d in shapes.paths.items():
        safe_code = escape(code)
        drawn.append((
            code,
            f'<a href="{seat_url.format(safe_code)}" tabindex="-1"><title>',
            f'<path d="{d}" fill="',
            f'" data-seat="{safe_code}"/></a>',
            f'<path d="{d}" fill="{NO_DATA}" data-seat="{safe_code}" aria-hidden="true"><title>',
            escape(shapes.names.get(code, code)),
        ))
    if len(_DRAWN) >= 8:  # a few maps per process; the map files changing on disk make new shapes
        _DRAWN.clear()
    _DRAWN[id(shapes)] = (shapes, tuple(drawn))
    return _DRAWN[id(shapes)][1]


_BOXES: dict[int, tuple[MapShapes, dict]] = {}
_NUMBER_PAIR = re.compile(r"(-?[0-9.]+),(-?[0-9.]+)")


def _boxes(shapes: MapShapes) -> dict[str, tuple[float, float, float, float]]:
    """Each seat's bounding box (x0, y0, x1, y1) in view units, once per map: to zoom and to place labels."""
    cached = _BOXES.get(id(shapes))
    if cached is not None and cached[0] is shapes:
        return cached[1]
    boxes = {}
    for code, d in shapes.paths.items():
        points = _NUMBER_PAIR.findall(d)
        if points:
            xs, ys = [float(x) for x, _y in points], [float(y) for _x, y in points]
            boxes[code] = (min(xs), min(ys), max(xs), max(ys))
    if len(_BOXES) >= 8:
        _BOXES.clear()
    _BOXES[id(shapes)] = (shapes, boxes)
    return boxes


def zoom_box(shapes: MapShapes, codes) -> tuple[float, float, float, float] | None:
    """The viewBox (x, y, width, height) around `codes` with a margin, or None when none of them is drawn."""
    boxes = _boxes(shapes)
    found = [boxes[code] for code in codes if code in boxes]
    if not found:
        return None
    x0, y0 = min(b[0] for b in found), min(b[1] for b in found)
    x1, y1 = max(b[2] for b in found), max(b[3] for b in found)
    margin = max(x1 - x0, y1 - y0) * 0.05 + 2
    return (x0 - margin, y0 - margin, x1 - x0 + 2 * margin, y1 - y0 + 2 * margin)


def table_rows_html(rows: list[dict]) -> SafeString:
    """The seats table's body as one string (650 rows of eleven cells: a template loop over them took longer than
    everything else on the page). Rows carry "url" and "fill_label" from the view."""
    row_html = '<tr><th scope="row"><a href="{}">{}</a></th>' + '<td class="num">{}</td>' * 10 + "</tr>"
    return mark_safe("".join(  # noqa: S308 - names escaped, the rest numbers and our own URLs
        row_html.format(row["url"], escape(row["name"]), row["priority"], row["shortfall"], row["need"], row["proven"],
                        row["unproven"], row["places"], f'{row["fill_label"]}%', row["waitlisted"],
                        row["overflow_sent"], row["overflow_received"])
        for row in rows))


def map_svg(*, shapes: MapShapes, kind: str, colours: dict[str, str], seats: dict[str, tuple[str, int]],
            coverage: dict[str, dict], title: str, description: str, zoom=None, labels=(),
            in_scope=None) -> SafeString:
    """The map as inline SVG: one <path> per seat of the reference file; seats in Frontroom are links.

    Built as one string rather than a template loop: ~650 seats each time the dashboard is drawn.
    The SVG is a labelled group of links, each named by its <title> (also the tooltip on hover). The links
    are out of the tab order (tabindex -1) so the keyboard is not walked through 650 shapes: the table beside
    the map holds the same links and figures and is the keyboard equivalent. Seats not in Frontroom are
    decoration for assistive technology (aria-hidden), with a tooltip for the eye.
    `zoom` (a zoom_box) shows only that part of the map; `labels` names those seats (the ones with sessions) on
    it, as decoration (aria-hidden): the links' titles and the table carry the names for assistive technology.
    For a regional organiser (`in_scope`, a callable), the other seats are greyed decoration without links.
    """
    stroke = "0.4" if kind == "boundaries" else "1"
    view_box, zoomed = shapes.view_box, ""
    if zoom is not None:
        view_box, zoomed, stroke = " ".join(f"{v:.1f}" for v in zoom), " zoomed", "1"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map map-{kind}{zoomed}" viewBox="{view_box}" role="group" '
        f'aria-labelledby="map-title" aria-describedby="map-desc" focusable="false">'
        f'<title id="map-title">{escape(title)}</title><desc id="map-desc">{escape(description)}</desc>'
        f'<g stroke="#5c5c66" stroke-width="{stroke}" stroke-linejoin="round">'
    ]
    # Translated once per drawing, not once per seat.
    formats = (_("%(name)s: priority %(priority)d, needs nobody and has no slots in this period"),
               _("%(name)s: priority %(priority)d, short by %(shortfall)d of %(need)d proven places "
                 "(%(proven)d proven, %(unproven)d held unproven); %(confirmed)d of %(places)d places taken, "
                 "%(waitlisted)d waitlisted"))
    not_loaded = escape(_("not loaded"))
    not_yours = escape(_("not one of your seats"))
    no_data_fill, out_of_scope_fill = f'fill="{NO_DATA}"', f'fill="{OUT_OF_SCOPE}"'
    for code, link_open, path_open, path_close, unloaded_open, unloaded_name in _drawn(shapes):
        seat = seats.get(code)
        if seat is None:
            parts.append(f'{unloaded_open}{unloaded_name}: {not_loaded}</title></path>')
            continue
        name, priority = seat
        if in_scope is not None and not in_scope(code):
            grey = unloaded_open.replace(no_data_fill, out_of_scope_fill, 1)
            parts.append(f"{grey}{unloaded_name}: {not_yours}</title></path>")
            continue
        parts.append(f'{link_open}{escape(_seat_title(name, priority, coverage.get(code), formats))}</title>'
                     f'{path_open}{colours.get(code, NO_DATA)}{path_close}')
    parts.append("</g>")
    if labels:
        boxes = _boxes(shapes)
        # A zoomed box is drawn as wide as the whole map (a tall one as high): sized from its height alone, a
        # wide region's names came out half the whole map's on screen (about 8 px for London), hard to read.
        size = max(zoom[2] / 40, zoom[3] / 55) if zoom is not None else shapes.height / 55
        parts.append(f'<g aria-hidden="true" font-size="{size:.1f}" text-anchor="middle">')
        for code in labels:
            box = boxes.get(code)
            if box is not None and code in seats:
                parts.append(f'<text class="seat-label" x="{(box[0] + box[2]) / 2:.1f}" y="{(box[1] + box[3]) / 2:.1f}">'
                             f'{escape(seats[code][0])}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated value above is escaped or ours
