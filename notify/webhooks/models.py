from django.conf import settings
from django.db import models
from django.db.models import Q

from notify.outbox import OutboxRow
from volunteers.models import Booking, BookingEvent

# What a booking event is called on the wire: Standard Webhooks' full-stop delimited types.
EVENT_TYPES = {
    BookingEvent.Kind.CONFIRMED: "booking.confirmed",
    BookingEvent.Kind.WAITLISTED: "booking.waitlisted",
    BookingEvent.Kind.PROMOTED: "booking.promoted",
    BookingEvent.Kind.CANCELLED: "booking.cancelled",
    BookingEvent.Kind.SESSION_CANCELLED: "booking.session_cancelled",
    BookingEvent.Kind.REDIRECTED: "booking.redirected",
    BookingEvent.Kind.RELEASED: "booking.released",
    BookingEvent.Kind.APPROVED: "booking.approved",
    BookingEvent.Kind.REFUSED: "booking.refused",
    BookingEvent.Kind.ATTENDANCE_CONFIRMED: "booking.attendance_confirmed",
    BookingEvent.Kind.ATTENDED: "booking.attended",
    BookingEvent.Kind.NO_SHOW: "booking.no_show",
    BookingEvent.Kind.VENUE_MOVED: "booking.venue_moved",
    BookingEvent.Kind.SLOT_RESCHEDULED: "booking.slot_rescheduled",
}
# The proof of a booking's phone (the code typed, or "this is my phone" pressed on the private link's page) is
# not a booking event (no new version, no text), so its deliveries are keyed by the booking instead
# (WebhookDelivery.booking).
PROVEN_TYPE = "booking.proven"
EVENT_TYPE_CHOICES = [(name, BookingEvent.Kind(kind).label) for kind, name in EVENT_TYPES.items()] + [
    (PROVEN_TYPE, "Phone proven")]


def all_event_types() -> list[str]:
    return [name for name, _label in EVENT_TYPE_CHOICES]


class WebhookEndpoint(models.Model):
    """A URL of the campaign's own systems (a CRM, a spreadsheet bridge) that receives signed booking events."""

    class DisabledReason(models.TextChoices):
        NONE = "", "-"
        MANUAL = "manual", "Disabled by a coordinator"
        FAILING = "failing", "Failed too many times in a row"
        GONE = "gone", "The receiver answered 410 Gone"

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # whsec_<base64 of 24-64 random bytes> (Standard Webhooks). Stored as given: it must sign every delivery.
    secret = models.CharField(max_length=100)
    # After a rotation the old secret still signs (a second signature in the header) until this time, so the
    # receiver can switch without dropping a delivery; cleared at once when a secret was compromised.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=all_event_types, help_text="The event types sent to this endpoint.")
    include_personal_data = models.BooleanField(
        default=True, help_text="Send the volunteer's name, email, phone and postcode; otherwise only identifiers.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=10, choices=DisabledReason.choices, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(OutboxRow):
    """One booking event for one endpoint: the outbox row written with the change, then its delivery record.

    (event, endpoint) is unique, so a repeated signal or task can never make a second one; the delivery's
    ``webhook-id`` is the event's, the same for every endpoint and every attempt, so a receiver can dedupe.
    A booking's proof (booking.proven) has no event: its row names the booking instead, unique per (booking,
    endpoint, type), and its webhook-id is the booking's (a phone is proven once).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DELIVERING = "delivering", "Being delivered"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(BookingEvent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="webhook_deliveries",
                              db_index=False)  # the unique (event, endpoint) leads with it
    # Only for what is not a booking event (the proof); indexed by the unique (booking, endpoint, type) below.
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="webhook_deliveries", db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries",
                                 db_index=False)  # indexed with id below, for an endpoint's log
    event_type = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    # The JSON sent, rendered at the first attempt and sent byte for byte at every later one.
    body = models.TextField(blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=300, blank=True, default="")
    error = models.CharField(max_length=300, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.UniqueConstraint(fields=["booking", "endpoint", "event_type"], condition=Q(event__isnull=True),
                                    name="webhook_delivery_booking_once"),
            models.CheckConstraint(condition=Q(event__isnull=False) | Q(booking__isnull=False),
                                   name="webhook_delivery_has_subject"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "id"], name="webhook_delivery_endpoint"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status__in=["pending", "delivering"])),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id} → {self.endpoint_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return delivery_webhook_id(event_id=self.event_id, booking_id=self.booking_id)


def webhook_id_for(event_id: int) -> str:
    """The stable message id of a booking event (Standard Webhooks' webhook-id: no full stops)."""
    return f"evt_{event_id}"


def proven_webhook_id_for(booking_id: int) -> str:
    """The stable message id of a booking's proof: one per booking (its phone is proven once), apart from events'."""
    return f"evt_proven_{booking_id}"


def delivery_webhook_id(*, event_id: int | None, booking_id: int | None) -> str:
    return webhook_id_for(event_id) if event_id is not None else proven_webhook_id_for(booking_id)
