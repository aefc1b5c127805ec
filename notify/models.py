from django.conf import settings
from django.db import models

from seats.models import Seat
from sessions.models import CanvassSession


class Broadcast(models.Model):
    """A message a host or coordinator sent to everyone booked on a session, a seat, a region or a day: the audit
    record (who sent what to how many), and the subject of its outbox rows (one text and one email at most per
    volunteer: notify.sms and notify.email rows point here). notify.messaging writes it."""

    class Purpose(models.TextChoices):
        SERVICE = "service", "About the session (service)"
        CAMPAIGN = "campaign", "Call to action (campaign)"

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                               db_index=False)  # the (sender, created_at) index below leads with it
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    # The audience: one session's proven volunteers (a host's), or everyone booked on a day, narrowed to a seat or a
    # region (a coordinator's, within their scope).
    session = models.ForeignKey(CanvassSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    region = models.CharField(max_length=60, blank=True)
    drivers = models.BooleanField(default=False, help_text="Only the volunteers offering a lift that day.")
    day = models.DateField(null=True, blank=True)
    body = models.TextField()
    recipients = models.PositiveIntegerField(default=0, help_text="Proven volunteers holding a place.")
    reached = models.PositiveIntegerField(default=0, help_text="Of those, how many by text, email or both.")
    texts = models.PositiveIntegerField(default=0, help_text="Texts written to the outbox to be sent.")
    emails = models.PositiveIntegerField(default=0, help_text="Emails written to the outbox to be sent.")
    segments = models.PositiveIntegerField(default=0, help_text="SMS segments of all the texts together.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sender", "created_at"], name="broadcast_sender_day")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} by {self.sender_id} to {self.recipients} ({self.created_at:%Y-%m-%d})"
