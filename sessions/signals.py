from django.dispatch import Signal

# Sent inside the cancelling transaction; volunteers cancels the session's bookings in it.
session_cancelled = Signal()  # sender=CanvassSession, session=CanvassSession, cancelled_by=User|None

# Sent inside the transaction that changed a meeting point's address or postcode; volunteers tells the
# volunteers booked there (who know the old address) in it.
meeting_point_moved = Signal()  # sender=MeetingPoint, meeting_point=MeetingPoint

# Sent inside the transaction that raised a slot's capacity; volunteers promotes its waitlist after commit.
slot_capacity_raised = Signal()  # sender=Slot, slot=Slot

# Sent inside the transaction that moved a slot to new times; volunteers tells the volunteers booked on it in it.
slot_rescheduled = Signal()  # sender=Slot, slot=Slot

# Sent inside the transaction that turned a session's requires_approval off; volunteers approves (and texts) the
# bookings still waiting for the host's approval in it.
session_approval_dropped = Signal()  # sender=CanvassSession, session=CanvassSession, by=User|None

# Sent inside the transaction that removed a slot volunteers had booked; volunteers cancels its bookings in it (each
# told as for a cancelled session).
slot_removed = Signal()  # sender=Slot, slot=Slot, removed_by=User|None

# Sent inside the transaction that took or gave back confirmed places on slots (a booking, a cancellation, a promotion,
# an approval, an assignment run): whatever shows those slots' places left (the web layer's cached pages) is out of
# date once it commits.
slot_places_changed = Signal()  # sender=Slot, slot_ids=list[int]
