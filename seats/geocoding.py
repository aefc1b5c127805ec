"""Postcode → coordinates and seat.

Lookup order: the full postcode in the local table, then (if enabled) a remote geocoder
such as postcodes.io, then the postcode district's centre. Unknown postcodes raise a clear
InvalidInput naming the field, which the API turns into a 400.

A postcode district on its own ("SW11") is accepted where a volunteer says where they are (a search, a booking,
a sign-up): it resolves to the district's centre and main seat (PostcodeDistrict: the district file's figures,
or the mean of its postcodes' points worked out at import, seats.importers.postcodes.districts_from_postcodes).
That is no finer than what any full postcode of the district gives. A front room needs its exact place, so
its callers pass exact=True and a district alone is refused.
"""

import logging
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext

from core.errors import InvalidInput
from seats.models import BoundarySet, Postcode, PostcodeDistrict, Seat
from seats.postcodes import district_normalise, outcode_of, postcode_normalise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Location:
    postcode: str
    lat: float
    lng: float
    seat_id: str | None
    precision: str  # "postcode", "remote" or "district"

    @property
    def district(self) -> str:
        return outcode_of(self.postcode)


class Geocoder(Protocol):
    def locate(self, postcode: str) -> Location | None:
        """Return the location of a canonical postcode, or None when this geocoder does not know it."""


# The postcode in the current boundary set: a subquery, so switching sets needs no cache to be cleared.
_LOCATE_SQL = (f"SELECT lat, lng, seat_id FROM {Postcode._meta.db_table} WHERE boundary_set = "
               f"(SELECT code FROM {BoundarySet._meta.db_table} WHERE is_current) AND postcode = %s")


class LocalPostcodeGeocoder:
    def locate(self, postcode: str) -> Location | None:
        # bench/sql_vs_orm.py locate: the ORM's filter().values_list().first() cost 7.3x this statement's CPU; every
        # booking geocodes (BENCHMARKS.md "Hand-written statements vs the ORM").
        with connection.cursor() as cursor:
            cursor.execute(_LOCATE_SQL, [postcode])
            row = cursor.fetchone()
        if row is None:
            return None
        return Location(postcode, row[0], row[1], row[2], "postcode")


# The district in the current set, as _LOCATE_SQL: every search is located by its district (web.page_cache keys
# results by it). bench/sql_vs_orm.py locate_district: its ORM twin (bench/sql_vs_orm_twins.district_locate) cost
# 8.4x this statement's CPU, 2.1 ms more a search; bench/request_cpu.py --district-twin: a results page computed
# with the twin cost 18.5 ms of CPU, with this 15.3 ms (17.6%; 1-27% by round) (BENCHMARKS.md "Hand-written
# statements vs the ORM", locate_district). At the 15% bar, not beyond its spread: measure again before changing.
_DISTRICT_SQL = (f"SELECT lat, lng, seat_id FROM {PostcodeDistrict._meta.db_table} WHERE boundary_set = "
                 f"(SELECT code FROM {BoundarySet._meta.db_table} WHERE is_current) AND outcode = %s")


class LocalDistrictGeocoder:
    def locate(self, postcode: str) -> Location | None:
        with connection.cursor() as cursor:
            cursor.execute(_DISTRICT_SQL, [outcode_of(postcode)])
            row = cursor.fetchone()
        if row is None:
            return None
        return Location(postcode, row[0], row[1], row[2], "district")


class PostcodesIoGeocoder:
    """Remote lookup against postcodes.io (or a compatible mirror); errors count as 'unknown'."""

    def __init__(self, base_url: str, timeout: float, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def locate(self, postcode: str) -> Location | None:
        try:
            response = self.session.get(f"{self.base_url}/postcodes/{postcode.replace(' ', '')}", timeout=self.timeout)
        except requests.RequestException as exc:
            logger.warning("postcode lookup for %s failed: %s", postcode, exc)
            return None
        if response.status_code != 200:
            return None
        try:
            result = response.json()["result"]
            lat, lng = float(result["latitude"]), float(result["longitude"])
        except (ValueError, KeyError, TypeError):
            return None
        seat_code = (result.get("codes") or {}).get("parliamentary_constituency")
        seat_id = seat_code if seat_code and Seat.objects.current().filter(pk=seat_code).exists() else None
        return Location(postcode, lat, lng, seat_id, "remote")


def default_geocoders() -> list[Geocoder]:
    chain: list[Geocoder] = [LocalPostcodeGeocoder()]
    if settings.POSTCODE_REMOTE_LOOKUP:
        chain.append(PostcodesIoGeocoder(settings.POSTCODE_REMOTE_URL, settings.POSTCODE_REMOTE_TIMEOUT))
    chain.append(LocalDistrictGeocoder())
    return chain


def district_locate(district: str, *, field: str = "postcode") -> Location:
    """The centre and main seat of a canonical postcode district ("SW11") in the current boundary set; raise
    InvalidInput (code unknown_district) naming `field`."""
    location = LocalDistrictGeocoder().locate(district)
    if location is None:
        raise InvalidInput(gettext("Unknown postcode district %(district)s.") % {"district": district},
                           code="unknown_district", fields={field: [gettext("Unknown postcode district.")]})
    return location


def postcode_locate(raw: str, *, field: str = "postcode", geocoders: list[Geocoder] | None = None,
                    exact: bool = False) -> Location:
    """Normalise and geocode a postcode, or (unless `exact`) a postcode district such as "SW11" (its centre, with
    precision "district" and the district as the postcode); raise InvalidInput naming `field`: unknown_postcode,
    unknown_district, or full_postcode_required for a district where `exact` asks for a full postcode."""
    district = district_normalise(raw)
    if district is not None:
        if exact:
            raise InvalidInput(
                gettext("Give the full postcode, like S10 2TN: a district such as %(district)s is not enough here.")
                % {"district": district}, code="full_postcode_required",
                fields={field: [gettext("A full postcode is needed, not only the district.")]})
        return district_locate(district, field=field)
    try:
        postcode = postcode_normalise(raw)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code="invalid_postcode", fields={field: [gettext("Not a valid UK postcode.")]}) from None
    for geocoder in geocoders if geocoders is not None else default_geocoders():
        location = geocoder.locate(postcode)
        if location is not None:
            return location
    raise InvalidInput(gettext("Unknown postcode %(postcode)s.") % {"postcode": postcode}, code="unknown_postcode", fields={field: [gettext("Unknown postcode.")]})
