"""The coverage dashboard's two maps, drawn on the server as SVG path data.

The reference files of the current boundary set (MAP_SETTINGS: GEO_HEXJSON_PATH and
GEO_BOUNDARIES_PATH for 2024, the *_2010_PATH pair for the 2010 set) are read by path, never copied into the
repository; their codes are the codes the seats table holds after `import_seats --set` or `load_demo`. The 2010
boundaries are a TopoJSON topology: its quantised arcs are decoded here (delta-encoded integers times the
transform), projected, simplified per arc with Douglas-Peucker (shared arcs stay shared, so neighbours still
meet) and stitched into one path per seat. The 2024 boundaries are ONS's ultra-generalised (BUC) GeoJSON,
already coarse (37,000 vertices): each ring is projected and simplified on its own, so a shared border may
differ by under half a view unit, less than a pixel. That costs about a second, so the result is kept in memory for the
process and on disk under MAP_CACHE_DIR, keyed by the source file's size and mtime.
"""

import functools
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
VIEW_HEIGHT = 1000.0
# An equirectangular projection scaled at 54.5°N: close to the National Grid's look for Great Britain.
_LAT0 = math.radians(54.5)
_LAT_MIN, _LAT_MAX, _LNG_MIN, _LNG_MAX = 49.86, 60.87, -8.66, 1.78
SIMPLIFY_TOLERANCE = 0.5  # in view units (1000 = the map's height): about half a pixel on a laptop
HEX_SIZE = 10.0  # circumradius of a pointy-top hex, in view units


@dataclass(frozen=True)
class MapShapes:
    """One SVG path per seat code, and the viewBox they are drawn in."""

    paths: dict[str, str]
    names: dict[str, str]
    width: float
    height: float

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{CACHE_VERSION}:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def _disk_cached(kind: str, path: Path, build):
    """build() once per source file version; the result (JSON-able) is kept under MAP_CACHE_DIR."""
    cache_dir = Path(settings.MAP_CACHE_DIR)
    cache_file = cache_dir / f"map-{kind}-{_file_key(path)}.json"
    try:
        with cache_file.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        pass
    data = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(cache_file)  # atomic: a concurrent reader sees the old file or the whole new one
    except OSError as exc:  # a read-only disk only costs the rebuild next start
        logger.warning("map cache not written to %s: %s", cache_dir, exc)
    return data


def _fmt(points: np.ndarray) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points.tolist())


# ---- the hex map -------------------------------------------------------------------------------------------

def _hex_build(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    hexes = data["hexes"]
    odd_shift = 1 if data.get("layout", "odd-r") == "odd-r" else -1
    width, row = math.sqrt(3) * HEX_SIZE, 1.5 * HEX_SIZE
    qs, rs = [h["q"] for h in hexes.values()], [h["r"] for h in hexes.values()]
    q_min, r_max = min(qs), max(rs)
    corners = [(math.cos(math.radians(60 * i - 30)) * HEX_SIZE, math.sin(math.radians(60 * i - 30)) * HEX_SIZE)
               for i in range(6)]
    paths, names = {}, {}
    for code, h in hexes.items():
        # hexjson rows count upwards (north); SVG's y grows downwards.
        shift = (odd_shift * 0.5) if h["r"] % 2 else 0.0
        cx = (h["q"] - q_min + shift + 1) * width
        cy = (r_max - h["r"] + 1) * row
        points = np.round(np.array([(cx + dx, cy + dy) for dx, dy in corners]), 1)
        paths[code] = f"M{_fmt(points)}Z"
        names[code] = h.get("n", code)
    return {"paths": paths, "names": names, "width": (max(qs) - q_min + 2.5) * width,
            "height": (r_max - min(rs) + 2) * row + HEX_SIZE}


# ---- the boundary map --------------------------------------------------------------------------------------

def _project(lng: np.ndarray, lat: np.ndarray) -> np.ndarray:
    scale = VIEW_HEIGHT / (_LAT_MAX - _LAT_MIN)
    return np.column_stack([(lng - _LNG_MIN) * math.cos(_LAT0) * scale, (_LAT_MAX - lat) * scale])


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on one arc; its two ends are always kept (they are where arcs meet)."""
    n = len(points)
    if n < 3:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        inner, a, b = points[first + 1:last], points[first], points[last]
        dx, dy = b - a
        length = math.hypot(dx, dy)
        if length == 0:
            distance = np.hypot(inner[:, 0] - a[0], inner[:, 1] - a[1])
        else:
            distance = np.abs(dx * (inner[:, 1] - a[1]) - dy * (inner[:, 0] - a[0])) / length
        index = int(np.argmax(distance))
        if distance[index] > tolerance:
            middle = first + 1 + index
            keep[middle] = True
            stack.extend(((first, middle), (middle, last)))
    return points[keep]


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def topology_paths(topology: dict, *, tolerance: float = SIMPLIFY_TOLERANCE) -> dict[str, str]:
    """SVG path data per PCON13CD from a TopoJSON topology (quantised or not), projected and simplified."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        raw = np.asarray(arc, dtype=np.float64)[:, :2]
        if transform:
            raw = np.cumsum(raw, axis=0) * transform["scale"] + transform["translate"]
        arcs.append(np.round(_simplify(_project(raw[:, 0], raw[:, 1]), tolerance), 1))

    def arc_points(index: int) -> np.ndarray:
        return arcs[index] if index >= 0 else arcs[~index][::-1]  # ~i: arc i walked backwards

    paths = {}
    for geometry in next(iter(topology["objects"].values()))["geometries"]:
        code = geometry["properties"]["PCON13CD"]
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        parts: list[tuple[float, str]] = []
        for polygon in polygons:
            for ring_arcs in polygon:
                pieces = [arc_points(i) if n == 0 else arc_points(i)[1:] for n, i in enumerate(ring_arcs)]
                ring = np.concatenate(pieces)
                moved = np.ones(len(ring), dtype=bool)
                moved[1:] = np.any(ring[1:] != ring[:-1], axis=1)
                ring = ring[moved]
                if len(ring) < 4:
                    continue
                parts.append((_ring_area(ring), f"M{_fmt(ring[:-1])}Z"))
        # Islets smaller than a pixel are dropped, but every seat keeps at least its largest part.
        parts.sort(key=lambda part: -part[0])
        paths[code] = "".join(d for n, (area, d) in enumerate(parts) if n == 0 or area >= 0.5)
    return paths


def geojson_paths(collection: dict, *, tolerance: float = SIMPLIFY_TOLERANCE) -> tuple[dict[str, str], dict[str, str]]:
    """SVG path data and names per seat code from a GeoJSON FeatureCollection (ONS PCONyyCD/PCONyyNM properties)."""
    paths, names = {}, {}
    for feature in collection["features"]:
        properties = feature["properties"]
        code_key = next(key for key in properties if key.startswith("PCON") and key.endswith("CD"))
        code = properties[code_key]
        names[code] = properties.get(code_key[:-2] + "NM", "")
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        parts: list[tuple[float, str]] = []
        for polygon in polygons:
            for ring_coordinates in polygon:
                raw = np.asarray(ring_coordinates, dtype=np.float64)[:, :2]
                ring = np.round(_simplify(_project(raw[:, 0], raw[:, 1]), tolerance), 1)
                moved = np.ones(len(ring), dtype=bool)
                moved[1:] = np.any(ring[1:] != ring[:-1], axis=1)
                ring = ring[moved]
                if len(ring) < 4:
                    continue
                parts.append((_ring_area(ring), f"M{_fmt(ring[:-1])}Z"))
        parts.sort(key=lambda part: -part[0])
        paths[code] = "".join(d for n, (area, d) in enumerate(parts) if n == 0 or area >= 0.5)
    return paths, names


def _boundaries_build(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        topology = json.load(handle)
    width = (_LNG_MAX - _LNG_MIN) * math.cos(_LAT0) * VIEW_HEIGHT / (_LAT_MAX - _LAT_MIN)
    if topology.get("type") == "FeatureCollection":
        paths, names = geojson_paths(topology)
        return {"paths": paths, "names": names, "width": width, "height": VIEW_HEIGHT}
    names = {g["properties"]["PCON13CD"]: g["properties"].get("PCON13NM", "")
             for g in next(iter(topology["objects"].values()))["geometries"]}
    return {"paths": topology_paths(topology), "names": names, "width": width, "height": VIEW_HEIGHT}


_BUILDERS = {"hex": _hex_build, "boundaries": _boundaries_build}
# The settings naming each boundary set's two map files.
MAP_SETTINGS = {"2024": {"hex": "GEO_HEXJSON_PATH", "boundaries": "GEO_BOUNDARIES_PATH"},
                "2010": {"hex": "GEO_HEXJSON_2010_PATH", "boundaries": "GEO_BOUNDARIES_2010_PATH"}}


@functools.cache
def _shapes(kind: str, path: str, key: str) -> MapShapes:
    data = _disk_cached(kind, Path(path), lambda: _BUILDERS[kind](Path(path)))
    return MapShapes(paths=data["paths"], names=data["names"], width=data["width"], height=data["height"])


def map_file(kind: str, boundary_set: str | None = None) -> Path | None:
    """The reference file of one map ("hex" or "boundaries") for a boundary set (default: the current one)."""
    from seats.models import boundary_set_current

    names = MAP_SETTINGS.get(boundary_set or boundary_set_current())
    return Path(getattr(settings, names[kind])) if names else None


def map_shapes(kind: str, boundary_set: str | None = None) -> MapShapes | None:
    """The shapes of one map ("hex" or "boundaries") of a boundary set (default: the current one), or None when
    its reference file is missing or broken."""
    path = map_file(kind, boundary_set)
    if path is None:
        logger.warning("map %s: no files for boundary set %s in MAP_SETTINGS", kind, boundary_set)
        return None
    try:
        return _shapes(kind, str(path), _file_key(path))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        logger.warning("map %s unavailable from %s: %s", kind, path, exc)
        return None
