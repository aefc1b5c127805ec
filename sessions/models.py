from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.languages import LANGUAGE_MAX_LENGTH, language_current
from seats.models import Seat


class MeetingPoint(models.Model):
    """A host's front room. The address is private: only confirmed volunteers see it."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_points")
    name = models.CharField(max_length=120)
    address = models.TextField()
    postcode = models.CharField(max_length=8)
    # The geocoded postcode: for the host, coordinators and the admin only.
    lat = models.FloatField()
    lng = models.FloatField()
    # What the public sees (sessions.locations): drawn once for this room alone, 300-600 m from (lat, lng), when
    # the meeting point is created or its postcode changes; never shared with another room, even at the same
    # postcode. Sessions copy it; every public distance is measured from it. Not shown to hosts.
    public_lat = models.FloatField()
    public_lng = models.FloatField()
    # The seat the postcode belongs to (seats.geocoding), set whenever the postcode is; hosts cannot choose it.
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="meeting_points")
    capacity = models.PositiveSmallIntegerField(help_text="How many people the room holds at once.")
    accessibility_notes = models.TextField(blank=True)
    host_first_name = models.CharField(max_length=60, blank=True)
    host_phone = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(capacity__gte=1), name="meeting_point_capacity_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.postcode})"


class CanvassSession(models.Model):
    """A canvass session at a meeting point, made of one or more door-knocking slots."""

    class Status(models.TextChoices):  # the labels show on hosts' pages: translated
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")
        # A host's session before an organiser's check (HOST_VETTING): seen by its host and coordinators only.
        REVIEW = "review", _("Waiting for an organiser's check")
        REFUSED = "refused", _("Not published by an organiser")

    meeting_point = models.ForeignKey(MeetingPoint, on_delete=models.PROTECT, related_name="sessions")
    # The meeting point's seat, unless a coordinator chose another (seat_set_by).
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="sessions")
    seat_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The coordinator who chose the seat, if one did.")
    title = models.CharField(max_length=140)
    description = models.TextField(blank=True)
    what_to_bring = models.CharField(max_length=200, blank=True, default="Comfortable shoes and a charged phone")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    # The host approves each volunteer before the address is released to them (texted either way).
    requires_approval = models.BooleanField(default=False)
    # Volunteers are asked the day before to confirm; a place not confirmed by CONFIRM_DEADLINE_HOURS before the
    # start goes to the waitlist (volunteers.confirmations). The seat's coordinators can ask it for every session.
    confirm_required = models.BooleanField(default=False, db_default=False)
    # The occurrences of a repeated session share it (sessions.recurrence); each is a session of its own.
    series = models.UUIDField(null=True, blank=True, db_index=True)
    # The meeting point's public point (never its exact location) and the slots' span, copied so the
    # nearest-sessions search is one indexed query.
    lat = models.FloatField()
    lng = models.FloatField()
    postcode_district = models.CharField(max_length=4)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The organiser's answer to a session in review (sessions.vetting); the reason is shown to the host.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            # Covers the search's box scan (index-only once vacuumed): rows in a wide box are read
            # from the index alone, not fetched from the table one by one.
            models.Index(fields=["lat", "lng"], include=["starts_at", "ends_at", "id", "seat"],
                         name="session_search_lat_lng", condition=Q(status="published")),
            models.Index(fields=["seat", "starts_at"], name="session_seat_starts"),
            models.Index(fields=["created_at"], name="session_in_review", condition=Q(status="review")),
        ]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start")]

    def __str__(self) -> str:
        return self.title

    @property
    def host(self):
        return self.meeting_point.host


class LiveSlotManager(models.Manager):
    """Slots still part of their session: every query through Slot.objects and session.slots leaves out a slot its
    host removed (sessions.services.slot_remove), whose bookings are kept, cancelled, for their history."""

    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class Slot(models.Model):
    """A door-knocking window with a capacity. confirmed_count is the guard against overbooking."""

    session = models.ForeignKey(CanvassSession, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    turf = models.TextField(blank=True, help_text="Streets or doors to cover.")
    confirmed_count = models.PositiveIntegerField(default=0)
    # Extra places bookable beyond capacity: the expected no-shows, when the seat's coordinators allow over-booking
    # (volunteers.turnout.slots_overbook_refresh). 0 unless they do.
    overbook = models.PositiveSmallIntegerField(default=0)
    # Removed by its host after volunteers had booked it (a slot nobody booked is deleted instead).
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveSlotManager()
    all_objects = models.Manager()  # noqa: DJ012 - removed slots too: a cancelled booking reads its slot

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at"], name="slot_starts_at")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="slot_capacity_positive"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
            # The database itself refuses an overbooked slot (beyond the over-booking its seat allows).
            models.CheckConstraint(condition=Q(confirmed_count__lte=F("capacity") + F("overbook")),
                                   name="slot_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.session.title} {self.starts_at:%a %d %b %H:%M}"

    @property
    def places_left(self) -> int:
        return max(0, self.capacity + self.overbook - self.confirmed_count)


class HostStanding(models.Model):
    """What the site knows of a host account beyond Django's user: the email address they proved (sessions.hosts),
    and whether their sessions publish without an organiser's check (sessions.vetting). No row: neither."""

    host = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="host_standing")
    # The address the host proved by following the emailed link; a changed address is unproven until proved.
    email_verified = models.EmailField(blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    trusted = models.BooleanField(default=False, help_text="Their new sessions publish without an organiser's check.")
    trusted_at = models.DateTimeField(null=True, blank=True)
    trusted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # The language the host signed up in, or last chose with the language switch: their emails and texts use it.
    language = models.CharField(max_length=LANGUAGE_MAX_LENGTH, default=language_current, db_default="en-gb")

    def __str__(self) -> str:
        return f"{self.host_id}: {'trusted' if self.trusted else 'new'}"


class VettingDecision(models.Model):
    """The audit of vetting: every approval, refusal and change of trust, by whom and why. Append-only."""

    class Kind(models.TextChoices):
        APPROVED = "approved", "Session approved"
        REFUSED = "refused", "Session refused"
        TRUSTED = "trusted", "Host trusted"
        UNTRUSTED = "untrusted", "Host no longer trusted"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vetting_decisions")
    session = models.ForeignKey(CanvassSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.host_id})"
