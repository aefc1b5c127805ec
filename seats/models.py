from django.conf import settings
from django.db import models


class Seat(models.Model):
    """A Westminster constituency (2010–2024 boundary set) with its last general-election result."""

    ons_code = models.CharField(max_length=9, primary_key=True)
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

    neighbours = models.ManyToManyField("self", through="SeatAdjacency", symmetrical=True, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
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
    """An outcode (e.g. SW11) with the centre of its postcodes: the fallback when a full postcode is unknown."""

    outcode = models.CharField(max_length=4, primary_key=True)
    lat = models.FloatField()
    lng = models.FloatField()
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    postcode_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["outcode"]

    def __str__(self) -> str:
        return self.outcode


class Postcode(models.Model):
    """A full postcode in canonical form ("SW11 1AA") with its coordinates and seat."""

    postcode = models.CharField(max_length=8, primary_key=True)
    lat = models.FloatField()
    lng = models.FloatField()
    # No database FK: the bulk loader COPYs millions of rows and the seat table is the authority.
    seat = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        ordering = ["postcode"]

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
