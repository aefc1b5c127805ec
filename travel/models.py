"""Lifts: a proven volunteer with a place offers seats in their car to that slot, from a public pickup point."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from sessions.models import Slot
from volunteers.models import Booking, Volunteer


def seats_taken_sum(prefix: str = "requests__") -> Sum:
    """The seats an offer's accepted riders take: a rider's whole party rides (Booking.party_size), never split."""
    return Coalesce(Sum(f"{prefix}booking__party_size",
                        filter=Q(**{f"{prefix}status": "accepted"})), 0)


def new_lift_token() -> str:
    return secrets.token_urlsafe(12)  # 96 bits: an offer or request is never named by its sequential id


class LiftOffer(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CANCELLED = "cancelled", _("Cancelled")

    # Public places only: the form offers these kinds and never asks for a home address (docs/travel.md).
    class PickupKind(models.TextChoices):
        STATION = "station", _("Station")
        CAR_PARK = "car_park", _("Car park")
        BUS_STOP = "bus_stop", _("Bus stop")
        PUBLIC_PLACE = "public_place", _("Other public place")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="lift_offers")  # the driver's place
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="lift_offers")
    token = models.CharField(max_length=24, unique=True, default=new_lift_token)
    # The link a driver shares with riders they already know; an invite-only offer is listed to nobody else.
    invite_token = models.CharField(max_length=24, unique=True, default=new_lift_token)
    invite_only = models.BooleanField(default=False)
    # The driver says she is a woman: riders who ask for a woman driver see this offer (and only such offers).
    woman_driver = models.BooleanField(default=False)
    seats = models.PositiveSmallIntegerField()
    pickup_kind = models.CharField(max_length=12, choices=PickupKind.choices)
    pickup_label = models.CharField(max_length=60)
    pickup_postcode = models.CharField(max_length=8)  # a postcode or district; the point is its public centroid
    pickup_district = models.CharField(max_length=4)
    pickup_lat = models.FloatField()
    pickup_lng = models.FloatField()
    departs_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["booking"], condition=Q(status="open"), name="travel_one_open_offer"),
            models.CheckConstraint(condition=Q(seats__gte=1) & Q(seats__lte=8), name="travel_offer_seats_1_8"),
        ]
        indexes = [models.Index(fields=["slot", "status"], name="travel_offer_slot_status")]

    def __str__(self) -> str:
        return f"Lift to slot {self.slot_id} from {self.pickup_district} ({self.status})"


class LiftRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Asked")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        OFFER_CANCELLED = "offer_cancelled", _("Lift cancelled")

    ACTIVE = (Status.REQUESTED, Status.ACCEPTED)

    offer = models.ForeignKey(LiftOffer, on_delete=models.CASCADE, related_name="requests")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="lift_requests")  # the rider's place
    token = models.CharField(max_length=24, unique=True, default=new_lift_token)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One seat asked for or held per rider's place at a time.
            models.UniqueConstraint(fields=["booking"], condition=Q(status__in=["requested", "accepted"]),
                                    name="travel_one_active_request"),
        ]

    def __str__(self) -> str:
        return f"Seat in lift {self.offer_id} ({self.status})"


class LiftBlock(models.Model):
    """A coordinator stopped this volunteer offering or asking for lifts; their open lifts ended with it."""

    volunteer = models.OneToOneField(Volunteer, on_delete=models.CASCADE, related_name="lift_block")
    blocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Lifts blocked for volunteer {self.volunteer_id}"


class LiftDisclosure(models.Model):
    """The ledger of what one side of an accepted lift was shown of the other (the safety issue's ledger, for
    lifts): the pickup point and the driver's first name to the rider, the rider's first name to the driver."""

    class Shown(models.TextChoices):
        PICKUP = "pickup", "Pickup point and driver's first name"
        RIDER = "rider", "Rider's first name"

    request = models.ForeignKey(LiftRequest, on_delete=models.CASCADE, related_name="disclosures")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="lift_disclosures")
    shown = models.CharField(max_length=8, choices=Shown.choices)
    path = models.CharField(max_length=40)
    # Recorded once, the first time (a page view after that writes nothing: private links must stay cheap to open).
    first_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "volunteer", "shown", "path"],
                                               name="travel_disclosure_once")]

    def __str__(self) -> str:
        return f"{self.shown} of lift request {self.request_id} shown on {self.path}"
