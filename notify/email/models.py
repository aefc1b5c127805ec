import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from notify.outbox import OutboxRow
from volunteers.models import Booking, Volunteer


def new_message_id() -> str:
    """The Message-ID header, fixed when the row is written: every attempt at one message carries the same one."""
    from notify.email.services.content import message_id_domain

    return f"<{uuid.uuid4().hex}@{message_id_domain()}>"


class EmailMessage(OutboxRow):
    """One outbound email: the outbox row written in the booking change's transaction, then its delivery record.

    Its content is rendered when it is sent, from the booking as it is then; the send checks that the booking is
    still at the version the row was written for, so an email about an older state is skipped, as texts are.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "booking_confirmed", "Booking confirmed"
        WAITLISTED = "booking_waitlisted", "Waitlisted"
        PROMOTED = "booking_promoted", "Promoted from the waitlist"
        REDIRECTED = "booking_redirected", "Redirected to another seat"
        SESSION_CANCELLED = "session_cancelled", "Session cancelled by host"
        CANCELLED = "booking_cancelled", "Booking cancelled"
        VENUE_MOVED = "venue_moved", "Meeting point moved"
        SLOT_RESCHEDULED = "slot_rescheduled", "Slot moved to new times"
        APPROVED = "booking_approved", "Approved by the host"
        REFUSED = "booking_refused", "Refused by the host"
        OFFERED = "booking_offered", "Offered a place from the waitlist"
        OFFER_LAPSED = "booking_offer_lapsed", "Offer lapsed: not taken in time"
        UNCONFIRMED = "booking_unconfirmed", "Released: not confirmed by the deadline"
        REMINDER_DAY_BEFORE = "reminder_day_before", "Day-before reminder"
        REMINDER_SOON = "reminder_soon", "Starts-soon reminder"
        HOST_BOOKED = "host_booked", "Host told: a volunteer booked"
        HOST_CANCELLED = "host_cancelled", "Host told: a volunteer cancelled"
        HOST_RELEASED = "host_released", "Host told: places not confirmed went to the waitlist"
        HOST_DIGEST = "host_digest", "Host's daily digest"
        BROADCAST_SERVICE = "broadcast_service", "Host's or coordinator's message about a session"
        BROADCAST_CAMPAIGN = "broadcast_campaign", "Host's or coordinator's call to action"
        FOLLOW_UP = "follow_up", "After the session: how was it?"
        HOST_REPORT = "host_report", "Host asked for the session's report"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Accepted by the mail server"
        # The whole message reached the server but no answer came back (the worker died, or the connection broke,
        # after the final dot): SMTP cannot be asked, so it is not sent again (it would most likely be a copy).
        ASSUMED_SENT = "assumed", "Handed over, no answer"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    volunteer = models.ForeignKey(Volunteer, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="email_messages")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="email_messages")
    # Indexed by the unique (booking, kind, version) constraint, which leads with it.
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="email_messages", db_index=False)
    # A message to everyone booked (notify.messaging): once per (broadcast, volunteer).
    broadcast = models.ForeignKey("notify.Broadcast", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="email_messages", db_index=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    version = models.PositiveIntegerField(default=0, help_text="The booking version the message was written for.")
    digest_date = models.DateField(null=True, blank=True, help_text="A host digest: the day it covers.")
    message_id = models.CharField(max_length=200, unique=True, default=new_message_id)
    to = models.CharField(max_length=254, blank=True, help_text="Filled in when it is sent.")
    subject = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=40, blank=True)
    error_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="SMTP reply code or HTTP status.")
    error_message = models.CharField(max_length=300, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    # Set, and committed, just before the final "." of SMTP DATA: from then on the server may hold the message.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A volunteer's email and a host's notice are both one per booking event (their kinds differ).
            models.UniqueConstraint(fields=["booking", "kind", "version"], name="email_message_once"),
            # Rows without a digest_date (NULL) never collide here.
            models.UniqueConstraint(fields=["host", "digest_date"], name="email_host_digest_once"),
            models.CheckConstraint(condition=Q(volunteer__isnull=False) | Q(host__isnull=False),
                                   name="email_message_has_recipient"),
            models.UniqueConstraint(fields=["broadcast", "volunteer"], condition=Q(broadcast__isnull=False),
                                    name="email_message_broadcast_once"),
            models.CheckConstraint(
                condition=Q(booking__isnull=False) | Q(digest_date__isnull=False) | Q(broadcast__isnull=False),
                name="email_message_has_subject_or_broadcast"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="email_message_due",
                         condition=Q(status__in=["pending", "sending"])),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class HostEmailPreference(models.Model):
    """How a host hears of bookings and cancellations on their sessions. No row: an email for each."""

    class Notify(models.TextChoices):
        EACH = "each", "An email for each booking and cancellation"
        DAILY = "daily", "One email a day with the day's bookings and cancellations"
        OFF = "off", "No emails"

    host = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference")
    notify = models.CharField(max_length=8, choices=Notify.choices, default=Notify.EACH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.host_id}: {self.notify}"
