"""Where the public thinks a front room is.

Every public figure about a meeting point (the search's filter, order and distances, the approximate
location, suggestions and overflow previews) is computed from its public point, never from the
front door. The public point is drawn once, uniformly over the ring between PUBLIC_OFFSET_MIN_KM and
PUBLIC_OFFSET_MAX_KM around the geocoded postcode, and kept in the database: a point drawn afresh for
each request would average out to the door after a few hundred searches, a stored one does not. So a
least-squares fix on any number of reported distances finds the public point, which is at least
300 m from the door, and not the door.

Each meeting point has a point of its own, drawn independently, even where another room has the same
postcode. A shared point was an oracle: a host opening a probe room at a postcode was handed the public
point of the front room already there, so stepping a probe through the postcodes around a least-squares fix
named the victim's postcode. Independent draws around one postcode average to that postcode's centre, which
whoever opened the probe rooms already knows; they say nothing about anyone else's room.
"""

import math
import secrets

from core.geo import EARTH_RADIUS_KM

PUBLIC_OFFSET_MIN_KM = 0.3
PUBLIC_OFFSET_MAX_KM = 0.6
# Public coordinates are also rounded to about a kilometre (0.01 degree).
APPROXIMATE_DECIMALS = 2
DISTANCE_STEP_KM = 0.1

_random = secrets.SystemRandom()


def public_point_draw(*, lat: float, lng: float) -> tuple[float, float]:
    """A fresh point between PUBLIC_OFFSET_MIN_KM and PUBLIC_OFFSET_MAX_KM from (lat, lng), uniform by area."""
    inner, outer = PUBLIC_OFFSET_MIN_KM ** 2, PUBLIC_OFFSET_MAX_KM ** 2
    distance = math.sqrt(inner + _random.random() * (outer - inner))
    return offset_point(lat=lat, lng=lng, distance_km=distance, bearing_deg=_random.uniform(0.0, 360.0))


def offset_point(*, lat: float, lng: float, distance_km: float, bearing_deg: float) -> tuple[float, float]:
    """The point distance_km from (lat, lng) along the great circle at bearing_deg."""
    phi1, lmb1 = math.radians(lat), math.radians(lng)
    delta, theta = distance_km / EARTH_RADIUS_KM, math.radians(bearing_deg)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), math.degrees(lmb2)


def public_distance_km(distance_km: float) -> float:
    """A distance as the public sees it: to 0.1 km, and never 0.0 (that would confirm the postcode)."""
    return max(DISTANCE_STEP_KM, round(distance_km, 1))


def approximate(value: float) -> float:
    return round(value, APPROXIMATE_DECIMALS)
