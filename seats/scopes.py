"""Regional organisers: which seats a coordinator may see and act on.

A coordinator (staff user) with no OrganiserScope row is national and sees everything. One with a row sees the
seats of its regions plus its listed seats, and nothing else: every coordinator read and write takes the
caller's SeatScope and filters (`scope.filter(queryset, "session__seat")`) or checks (`scope.check_seat(code)`)
with it, so the rule holds in the services whichever page or API endpoint calls them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from core.errors import NotFound, PermissionDenied
from seats.models import Seat


@dataclass(frozen=True)
class SeatScope:
    """National (every seat) or the set of seat codes an organiser may see."""

    national: bool
    seat_codes: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()

    def allows(self, code: str | None) -> bool:
        return self.national or (code is not None and code.strip().upper() in self.seat_codes)

    def allows_all(self, codes: Iterable[str]) -> bool:
        return self.national or all(self.allows(code) for code in codes)

    def allows_region(self, region: str | None) -> bool:
        """A region filter the organiser may ask for: any when national, one of their regions otherwise."""
        return self.national or (region or "") in self.regions

    def q(self, field: str = "pk") -> Q:
        """A filter keeping the rows whose `field` (a path to a seat's ONS code) is in scope."""
        return Q() if self.national else Q(**{f"{field}__in": sorted(self.seat_codes)})

    def filter(self, queryset: QuerySet, field: str = "pk") -> QuerySet:
        return queryset if self.national else queryset.filter(self.q(field))

    def check_seat(self, code: str | None) -> None:
        """NotFound for a seat outside the scope: an organiser learns nothing about seats that are not theirs."""
        if not self.allows(code):
            raise NotFound(gettext("No such seat."), code="out_of_scope", fields={"seat": [gettext("Unknown seat.")]})

    def check_region(self, region: str | None) -> None:
        if region and not self.allows_region(region):
            raise PermissionDenied(gettext("You organise %(regions)s only.") % {"regions": ", ".join(self.regions) or "-"},
                                   code="out_of_scope", fields={"region": [gettext("Not one of your regions.")]})

    def check_national(self) -> None:
        """PermissionDenied unless national: for tools that are not about seats (webhooks, email failures)."""
        if not self.national:
            raise PermissionDenied(gettext("Only national coordinators can do this."), code="national_only")


NATIONAL = SeatScope(national=True)


def seat_scope_for(user) -> SeatScope:
    """The scope of a signed-in coordinator: NATIONAL without an OrganiserScope row, its seats otherwise."""
    if user is None or not getattr(user, "is_authenticated", False):
        return SeatScope(national=False)
    cached = getattr(user, "_seat_scope", None)
    if cached is not None:
        return cached
    try:  # the reverse one-to-one, cached on the user: core.permissions.is_scoped_organiser read it already
        row = user.organiser_scope
    except ObjectDoesNotExist:
        row = None
    if row is None:
        scope = NATIONAL
    else:
        regions = tuple(sorted(str(region) for region in row.regions or []))
        codes = set(Seat.objects.filter(Q(region__in=regions) | Q(pk__in=row.seats.values("pk")))
                    .values_list("pk", flat=True))
        scope = SeatScope(national=False, seat_codes=frozenset(codes), regions=regions)
    user._seat_scope = scope  # once per request: every service of a page asks
    return scope
