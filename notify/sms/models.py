from django.conf import settings
from django.db import models
from django.db.models import Q

from notify.outbox import OutboxRow
from volunteers.models import Booking, PhoneChallenge, Volunteer


class SmsMessage(OutboxRow):
    """One outbound SMS: the outbox row written in the booking change's transaction, then its delivery record."""

    class Kind(models.TextChoices):
        CONFIRMED = "booking_confirmed", "Booking confirmed"
        WAITLISTED = "booking_waitlisted", "Waitlisted"
        PROMOTED = "booking_promoted", "Promoted from the waitlist"
        REDIRECTED = "booking_redirected", "Redirected to another seat"
        SESSION_CANCELLED = "session_cancelled", "Session cancelled by host"
        CANCELLED = "booking_cancelled", "Booking cancelled"
        VENUE_MOVED = "venue_moved", "Meeting point moved"
        SLOT_RESCHEDULED = "slot_rescheduled", "Slot moved to new times"
        REMINDER_DAY_BEFORE = "reminder_day_before", "Day-before reminder"
        REMINDER_SOON = "reminder_soon", "Starts-soon reminder"
        RELEASED = "booking_released", "Released: phone never proven"
        APPROVED = "booking_approved", "Approved by the host"
        REFUSED = "booking_refused", "Refused by the host"
        OFFERED = "booking_offered", "Offered a place from the waitlist"
        OFFER_LAPSED = "booking_offer_lapsed", "Offer lapsed: not taken in time"
        UNCONFIRMED = "booking_unconfirmed", "Released: not confirmed by the deadline"
        PHONE_CODE = "phone_code", "Code to prove the phone"
        HOST_BOOKED = "host_booked", "Host told: a volunteer booked"
        HOST_CANCELLED = "host_cancelled", "Host told: a volunteer cancelled"
        HOST_RELEASED = "host_released", "Host told: places not confirmed went to the waitlist"
        HOST_CODE = "host_code", "Code to prove a host's mobile"
        HOST_DIGEST = "host_digest", "Host's daily digest"
        ADDRESS_RELEASED = "address_released", "Address let through by an organiser or the host"
        LIFT_REQUESTED = "lift_requested", "Driver told: a rider asks for a seat"
        LIFT_ACCEPTED = "lift_accepted", "Rider told: lift accepted, where to meet"
        LIFT_RIDER_JOINED = "lift_rider_joined", "Driver told: who is riding"
        LIFT_DECLINED = "lift_declined", "Rider told: lift declined"
        LIFT_CANCELLED = "lift_cancelled", "Rider told: the driver cancelled"
        LIFT_RIDER_LEFT = "lift_rider_left", "Driver told: a rider cancelled"
        BROADCAST_SERVICE = "broadcast_service", "Host's or coordinator's message about a session"
        BROADCAST_CAMPAIGN = "broadcast_campaign", "Host's or coordinator's call to action"
        COME_AGAIN = "come_again", "Come again: the next session nearby"
        FOLLOW_UP = "follow_up", "After the session: how was it?"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Being sent"
        QUEUED = "queued", "Accepted by Twilio"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    # Status callbacks only ever move a message up this ladder (out-of-order callbacks are ignored).
    RANK = {
        Status.PENDING: 0, Status.SENDING: 1, Status.QUEUED: 2, Status.SENT: 3,
        Status.DELIVERED: 4, Status.UNDELIVERED: 4, Status.FAILED: 4, Status.SKIPPED: 4,
    }

    # A text to a volunteer, or (host_booked, host_cancelled) to the host of the booking's session.
    volunteer = models.ForeignKey(Volunteer, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="sms_messages")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="sms_messages", db_index=False)  # partial index below
    # Indexed by the unique (booking, kind, version) constraint, which leads with it. A code text has no
    # booking: it belongs to its challenge, once per (challenge, send).
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="sms_messages",
                                db_index=False)
    challenge = models.ForeignKey(PhoneChallenge, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="sms_messages", db_index=False)
    # A host's code text belongs to the proof of their mobile, once per (proof, send), as a volunteer's to its challenge.
    host_proof = models.ForeignKey("HostMobileProof", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="sms_messages", db_index=False)
    # A message to everyone booked (notify.messaging): once per (broadcast, volunteer).
    broadcast = models.ForeignKey("notify.Broadcast", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="sms_messages", db_index=False)
    # A host's daily digest text: the day it covers, once per (host, day).
    digest_date = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    version = models.PositiveIntegerField(
        help_text="The booking version the message was written for (a code text: the challenge's send number).")
    to = models.CharField(max_length=16)
    body = models.TextField()
    encoding = models.CharField(max_length=5)
    segments = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    status_rank = models.PositiveSmallIntegerField(default=0)
    skip_reason = models.CharField(max_length=40, blank=True)
    twilio_sid = models.CharField(max_length=34, null=True, blank=True)  # noqa: DJ001 - NULL until accepted, unique when set
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    # A day-before reminder's planned send time in its window (notify.sms.services.reminder_window); it is also its
    # first next_attempt_at, which a retry moves on, so the plan is kept here.
    send_after = models.DateTimeField(null=True, blank=True)
    # The latest useful time: a reminder's window end (never in quiet hours), a code's expiry. Not sent after it
    # ("dropped_late"), and Twilio is told to drop it then too (ValidityPeriod).
    send_by = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind", "version"], name="sms_message_once"),
            models.UniqueConstraint(fields=["challenge", "version"], condition=Q(challenge__isnull=False),
                                    name="sms_message_challenge_once"),
            models.UniqueConstraint(fields=["host_proof", "version"], condition=Q(host_proof__isnull=False),
                                    name="sms_message_host_proof_once"),
            models.UniqueConstraint(fields=["host", "digest_date"], condition=Q(digest_date__isnull=False),
                                    name="sms_message_host_digest_once"),
            models.UniqueConstraint(fields=["broadcast", "volunteer"], condition=Q(broadcast__isnull=False),
                                    name="sms_message_broadcast_once"),
            models.CheckConstraint(
                condition=(Q(booking__isnull=False) | Q(challenge__isnull=False) | Q(host_proof__isnull=False)
                           | Q(digest_date__isnull=False) | Q(broadcast__isnull=False)),
                name="sms_message_has_subject"),
            models.CheckConstraint(condition=Q(volunteer__isnull=False) | Q(host__isnull=False),
                                   name="sms_message_has_recipient"),
            # Partial, like the due index below: a send changes status twice and each status callback once,
            # and none of those updates can be HOT, so every index a row is in costs an insert per change.
            # A row enters this index once, when Twilio accepts it, and the due index only while due.
            models.UniqueConstraint(fields=["twilio_sid"], condition=Q(twilio_sid__isnull=False),
                                    name="sms_message_twilio_sid"),
            models.CheckConstraint(
                condition=~Q(status__in=["queued", "sent", "delivered", "undelivered"]) | Q(twilio_sid__isnull=False),
                name="sms_message_accepted_has_sid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="sms_message_due",
                         condition=Q(status__in=["pending", "sending"])),
            # Partial for the reason above: nearly every row is a volunteer's, and enters no host index.
            models.Index(fields=["host"], name="sms_message_host", condition=Q(host__isnull=False)),
            # The reminder plans: only planned rows enter it, once.
            models.Index(fields=["send_by", "send_after"], name="sms_message_planned",
                         condition=Q(send_after__isnull=False)),
        ]

    def __str__(self) -> str:
        from volunteers.privacy import mask_phone  # lists and logs show the number masked

        return f"{self.get_kind_display()} to {mask_phone(self.to)} ({self.status})"


class HostSmsPreference(models.Model):
    """Whether a host is texted at each booking and cancellation on their sessions, and at which mobile (the host's
    own, validated as volunteers' are). No row: not texted (emails are notify.email's HostEmailPreference).
    A mobile is texted about bookings only once proven (mobile_proven_at): its holder typed the code texted to it
    (HostMobileProof), so a host cannot have Frontroom text a stranger's number."""

    host = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sms_preference")
    texts = models.BooleanField(default=False, help_text="A text for each booking and cancellation.")
    digest = models.BooleanField(default=False, help_text="One text a day: the day before's bookings and cancellations.")
    mobile = models.CharField(max_length=16, blank=True, help_text="E.164 UK mobile (volunteers.phones).")
    # What the SMS channel learnt about the number, as for a volunteer's: STOP from it (or Twilio's 21610), and
    # an invalid number (21211, 21614, 30005, 30006). A new mobile clears both.
    sms_opted_out = models.BooleanField(default=False)
    phone_invalid = models.BooleanField(default=False)
    # Set when the code texted to `mobile` is typed; a new mobile clears it.
    mobile_proven_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["mobile"], name="sms_host_preference_mobile",
                                condition=~Q(mobile=""))]  # a STOP finds the host by the number it came from

    def __str__(self) -> str:
        return f"{self.host_id}: {'texts' if self.texts else 'no texts'}"


class HostMobileProof(models.Model):
    """The code texted to a host's mobile to prove they hold it: one row per host, given a new code (and `phone`)
    at each send. Only the code's hash is kept (volunteers.identity.code_hash, bound to `token`); a code works for
    PHONE_CODE_TTL_MINUTES and max_attempts tries, and once."""

    host = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mobile_proof")
    token = models.CharField(max_length=32, unique=True)  # binds the code's hash to this row
    phone = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    # Bumped by each send (a new code): (proof, send) keys the text, exactly once; an older code stops working.
    sends = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField()
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Mobile proof for host {self.host_id} ({'proven' if self.verified_at else 'unproven'})"


class WebhookReceipt(models.Model):
    """A Twilio webhook already handled, keyed by what Twilio sends: an inbound message by its MessageSid, a
    status callback by (MessageSid, MessageStatus). Written in the transaction that handles the webhook, so a
    replay finds it and does nothing, and a failed handling leaves no receipt (Twilio's retry is handled).
    Never purged: it holds no personal data, and Twilio's signature has no timestamp, so it is the only replay guard."""

    class Kind(models.TextChoices):
        INBOUND = "inbound", "Inbound message"
        STATUS = "status", "Status callback"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    message_sid = models.CharField(max_length=64)
    message_status = models.CharField(max_length=20, blank=True, default="")
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "message_sid", "message_status"], name="webhook_receipt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_sid} {self.message_status}".strip()
