from django.conf import settings
from django.db import models

DEFAULT_BOUNDARY_SET = "2024"


class BoundarySet(models.Model):
    """A set of Westminster boundaries ("2010": the 2010–2024 seats, "2024": the seats of the 2023 review).

    Exactly one set is current: new sessions, searches, suggestions, overflow, assignment, coverage and the maps
    use its seats only. It is a row, not a setting, so `manage.py move_to_boundary_set` can move the live data
    and switch the set in one transaction. Codes are years, so they sort in the order the sets were drawn.
    """

    code = models.CharField(max_length=4, primary_key=True)
    name = models.CharField(max_length=80)
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True),
                                    name="boundary_set_one_current"),
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9]{4}$"), name="boundary_set_code_year"),
        ]

    def __str__(self) -> str:
        return self.name or self.code


def current_boundary_set_code():
    """A subquery for the current set's code, so a filter on it never reads a stale cached value."""
    return models.Subquery(BoundarySet.objects.filter(is_current=True).values("code")[:1])


def boundary_set_current() -> str:
    """The current set's code (the default set when the table is empty, as before the first migration ran)."""
    return BoundarySet.objects.filter(is_current=True).values_list("code", flat=True).first() or DEFAULT_BOUNDARY_SET


class SeatQuerySet(models.QuerySet):
    def in_set(self, code):
        """Seats of one boundary set. A seat the review left unchanged keeps its ONS code and belongs to both."""
        return self.filter(boundary_set__lte=code, last_boundary_set__gte=code)

    def current(self):
        return self.in_set(current_boundary_set_code())


class Seat(models.Model):
    """A Westminster constituency with the last general-election result fought on its boundaries.

    A GSS code names one geography for good: a seat drawn in one review and left unchanged by the next (five
    Scottish seats in 2023) keeps its code, so a seat belongs to the sets from `boundary_set` to
    `last_boundary_set`, and `ons_code` is unique in every set.
    """

    ons_code = models.CharField(max_length=9, primary_key=True)
    boundary_set = models.ForeignKey(BoundarySet, on_delete=models.PROTECT, default=DEFAULT_BOUNDARY_SET,
                                     related_name="+", help_text="The first boundary set this seat belongs to.")
    last_boundary_set = models.ForeignKey(BoundarySet, on_delete=models.PROTECT, default=DEFAULT_BOUNDARY_SET,
                                          related_name="+", help_text="The last boundary set this seat belongs to.")
    name = models.CharField(max_length=120, db_index=True)
    nation = models.CharField(max_length=40, blank=True)
    region = models.CharField(max_length=60, blank=True, db_index=True)
    county = models.CharField(max_length=80, blank=True)
    # Population-weighted centre (mean of the seat's postcodes): the best single point for travel.
    lat = models.FloatField()
    lng = models.FloatField()
    area_km2 = models.FloatField(null=True, blank=True)
    electorate = models.PositiveIntegerField(null=True, blank=True)
    election_year = models.PositiveSmallIntegerField(null=True, blank=True)
    winner = models.CharField(max_length=20, blank=True)
    runner_up = models.CharField(max_length=20, blank=True)
    result = models.CharField(max_length=60, blank=True)
    valid_votes = models.PositiveIntegerField(null=True, blank=True)
    majority = models.PositiveIntegerField(null=True, blank=True)
    majority_pct = models.FloatField(null=True, blank=True)
    # The notional result of the previous election recomputed on these boundaries (Rallings & Thrasher's
    # GE2019 notionals for the 2024 set): shown beside the real one, never used for priority.
    notional_year = models.PositiveSmallIntegerField(null=True, blank=True)
    notional_winner = models.CharField(max_length=20, blank=True)
    notional_majority = models.PositiveIntegerField(null=True, blank=True)
    notional_majority_pct = models.FloatField(null=True, blank=True)

    # Priority 1 is the most important seat. See seats.services.seat_priority_compute.
    computed_priority = models.PositiveSmallIntegerField(default=5)
    priority_override = models.PositiveSmallIntegerField(null=True, blank=True)
    is_target = models.BooleanField(default=False)
    # Set by the campaign's own target list (import_targets): wins over marginality, loses to a coordinator override.
    target_list_priority = models.PositiveSmallIntegerField(null=True, blank=True)
    target_note = models.CharField(max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(default=5, db_index=True)
    # Proven places a day this seat needs; None: SEAT_NEED_BY_PRIORITY for its priority band.
    need_per_day = models.PositiveIntegerField(null=True, blank=True)
    # A coordinator's setting (docs/confirm-or-release.md): every session in the seat asks its volunteers to confirm
    # the day before, and releases places not confirmed by CONFIRM_DEADLINE_HOURS before the start to the waitlist.
    confirm_required = models.BooleanField(default=False, db_default=False, help_text=(
        "Release places whose volunteers did not confirm (reply OK or the link) by the deadline to the waitlist."))

    neighbours = models.ManyToManyField("self", through="SeatAdjacency", symmetrical=True, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    objects = SeatQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(boundary_set__lte=models.F("last_boundary_set")),
                                   name="seat_boundary_sets_in_order"),
            models.CheckConstraint(condition=models.Q(priority__gte=1, priority__lte=5), name="seat_priority_1_to_5"),
            models.CheckConstraint(
                condition=models.Q(priority_override__isnull=True)
                | models.Q(priority_override__gte=1, priority_override__lte=5),
                name="seat_priority_override_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(target_list_priority__isnull=True)
                | models.Q(target_list_priority__gte=1, target_list_priority__lte=5),
                name="seat_target_list_priority_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["lat", "lng"], name="seat_lat_lng")]

    def __str__(self) -> str:
        return f"{self.name} ({self.ons_code})"

    @property
    def neighbours_in_set(self):
        """Its neighbours in the latest set it belongs to (an unchanged seat also keeps its old set's pairs)."""
        return self.neighbours.in_set(self.last_boundary_set_id).order_by("name")


class SeatAdjacency(models.Model):
    """One direction of a neighbour pair; the import writes both directions."""

    class Kind(models.TextChoices):
        SHARED_BORDER = "shared_border", "Shared border"
        POINT_TOUCH = "point_touch", "Touch at a point"
        WATER_GAP = "water_gap", "Across water"

    from_seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="adjacencies")
    to_seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SHARED_BORDER)
    shared_border_km = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_seat", "to_seat"], name="seat_adjacency_unique"),
            models.CheckConstraint(condition=~models.Q(from_seat=models.F("to_seat")), name="seat_adjacency_not_self"),
        ]
        verbose_name_plural = "seat adjacencies"

    def __str__(self) -> str:
        return f"{self.from_seat_id} → {self.to_seat_id}"


class PostcodeDistrict(models.Model):
    """An outcode (e.g. SW11) with the centre of its postcodes and its main seat in one boundary set: the
    fallback when a full postcode is unknown."""

    pk = models.CompositePrimaryKey("boundary_set", "outcode")
    boundary_set = models.CharField(max_length=4, default=DEFAULT_BOUNDARY_SET)
    outcode = models.CharField(max_length=4)
    lat = models.FloatField()
    lng = models.FloatField()
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    postcode_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["boundary_set", "outcode"]

    def __str__(self) -> str:
        return self.outcode


class Postcode(models.Model):
    """A full postcode in canonical form ("SW11 1AA") with its coordinates and its seat in one boundary set.

    One row per set and postcode: the next set's postcodes are imported beside the current set's, and
    `move_to_boundary_set` reads them before the switch."""

    # The key's first column is the set: lookups are (set, postcode) and an import touches one set's range.
    pk = models.CompositePrimaryKey("boundary_set", "postcode")
    boundary_set = models.CharField(max_length=4, default=DEFAULT_BOUNDARY_SET)
    postcode = models.CharField(max_length=8)
    lat = models.FloatField()
    lng = models.FloatField()
    # No database FK: the bulk loader COPYs millions of rows and the seat table is the authority.
    seat = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        ordering = ["boundary_set", "postcode"]

    def __str__(self) -> str:
        return self.postcode


class OrganiserScope(models.Model):
    """A regional organiser: a coordinator who sees and acts only on the seats of these regions and these seats.
    A coordinator without a scope row is national (sees everything). See seats.scopes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organiser_scope")
    regions = models.JSONField(default=list, blank=True, help_text="Region names, as in the seats table.")
    seats = models.ManyToManyField(Seat, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {', '.join(self.regions) or '-'} (+{self.seats.count()} seats)"
