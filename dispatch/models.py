"""Dispatch: assignment runs and their proposals, overflow moves, and the coordinator audit log."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from seats.models import Seat
from sessions.models import Slot
from volunteers.models import Booking, Volunteer


class AssignmentRun(models.Model):
    """A batch assignment for a period: solved by a Celery task, changes nothing until committed."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready to commit"
        COMMITTING = "committing", "Committing"
        COMMITTED = "committed", "Committed"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.")
    progress_message = models.CharField(max_length=200, blank=True)
    # {"date_from", "date_to", "region", "seats", "k"}: ISO strings so the row reads back as it was asked.
    params = models.JSONField(default=dict)
    # Filled when solved, completed when committed: assigned, unassigned by reason, travel, seats.
    totals = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    committed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="run_progress_0_100")]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.state})"


class ProposedAssignment(models.Model):
    """One volunteer's outcome in a run: a slot (or none, with the reason), then what commit did with it."""

    class Outcome(models.TextChoices):
        BOOKED = "booked", "Booked"
        SKIPPED = "skipped", "Skipped at commit"

    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="proposals")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    distance_km = models.FloatField(null=True, blank=True)
    value = models.IntegerField(default=0, help_text="Objective contribution, in tenths of a km-equivalent.")
    reason = models.CharField(max_length=40, blank=True, help_text="Why no slot (or why commit skipped it).")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A rider placed in this driver's car (dispatch.services.lift_placement): the same slot as the driver.
    lift_driver = models.ForeignKey(Volunteer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    db_index=False)
    # The places the proposal takes: the volunteer's party as the run saw it (docs/parties.md), all in this slot.
    party_size = models.PositiveSmallIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "volunteer"], name="proposal_one_per_volunteer")]
        indexes = [models.Index(fields=["run", "outcome", "slot"], name="proposal_run_outcome")]

    def __str__(self) -> str:
        return f"Run #{self.run_id}: volunteer {self.volunteer_id} → {self.slot_id or self.reason}"


class CoordinatorAction(models.Model):
    """Audit log: who did what, when, and what moved."""

    class Kind(models.TextChoices):
        RUN_STARTED = "run_started", "Assignment run started"
        RUN_COMMITTED = "run_committed", "Assignment run committed"
        OVERFLOW_PLANNED = "overflow_planned", "Overflow planned (dry run)"
        OVERFLOW_EXECUTED = "overflow_executed", "Overflow carried out"
        PERSONAL_DATA = "personal_data", "Personal data viewed, exported or erased"
        SEAT_PRIORITY_SET = "seat_priority_set", "Seat priority or target changed"
        SMS_RETRIED = "sms_retried", "SMS sent again"
        BOUNDARY_SET_MOVED = "boundary_set_moved", "Moved to another boundary set"
        TARGET_LIST_IMPORTED = "target_list_imported", "Campaign target list imported"
        SEAT_NEED_SET = "seat_need_set", "Seat's need for volunteers changed"
        SEAT_OVERBOOK_SET = "seat_overbook_set", "Seat's over-booking by expected no-shows changed"
        SEAT_CONFIRM_SET = "seat_confirm_set", "Seat's release of places not confirmed changed"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    run = models.ForeignKey(AssignmentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    params = models.JSONField(default=dict, blank=True)
    # Counts, plus the moves themselves (booking, volunteer, from/to slot and seat) for overflow.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor or 'system'} at {self.created_at:%Y-%m-%d %H:%M}"


class OverflowMove(models.Model):
    """A waitlisted booking sent to a slot in another seat. One per booking: nobody is moved twice."""

    class Trigger(models.TextChoices):
        WAITLIST = "waitlist", "A waitlist formed"
        SWEEP = "sweep", "Periodic sweep"
        COORDINATOR = "coordinator", "Coordinator"

    from_booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="overflow_move")
    to_booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="+")
    from_seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="+")
    to_seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="+")
    ring = models.PositiveSmallIntegerField(help_text="1: adjacent to the full seat, 2: a neighbour's neighbour.")
    distance_km = models.FloatField()
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    action = models.ForeignKey(CoordinatorAction, null=True, blank=True, on_delete=models.SET_NULL, related_name="moves")
    created_at = models.DateTimeField(auto_now_add=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Booking {self.from_booking_id} → {self.to_booking_id} ({self.from_seat_id} → {self.to_seat_id})"
