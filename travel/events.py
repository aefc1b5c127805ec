"""What happened to a lift, sent inside the change's transaction so the texts about it (notify.wiring) commit or
roll back with it."""

from django.dispatch import Signal

# sender=LiftRequest, request=LiftRequest, change=one of CHANGES
lift_changed = Signal()

REQUESTED = "requested"  # the driver is asked
ACCEPTED = "accepted"  # the rider and the driver learn each other's first name; the rider the pickup point
DECLINED = "declined"  # the rider is told; their place is kept
OFFER_CANCELLED = "offer_cancelled"  # the driver cancelled (or lost their place): each rider is told
WITHDRAWN = "withdrawn"  # the rider cancelled (or lost their place): the driver is told
CHANGES = (REQUESTED, ACCEPTED, DECLINED, OFFER_CANCELLED, WITHDRAWN)
