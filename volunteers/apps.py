from django.apps import AppConfig


class VolunteersConfig(AppConfig):
    name = "volunteers"

    def ready(self) -> None:
        from sessions.models import CanvassSession, MeetingPoint, Slot
        from sessions.signals import (
            meeting_point_moved,
            session_approval_dropped,
            session_cancelled,
            slot_capacity_raised,
            slot_removed,
            slot_rescheduled,
        )
        from volunteers import services
        from volunteers.events import on_booking_event

        def cancel_bookings(sender, session, cancelled_by=None, **kwargs):
            services.bookings_cancel_for_session(session=session, cancelled_by=cancelled_by)

        session_cancelled.connect(cancel_bookings, sender=CanvassSession, weak=False,
                                  dispatch_uid="volunteers.cancel_bookings")

        def cancel_slot_bookings(sender, slot, **kwargs):
            services.bookings_cancel_for_slot(slot=slot)

        slot_removed.connect(cancel_slot_bookings, sender=Slot, weak=False, dispatch_uid="volunteers.slot_removed")

        def approve_waiting(sender, session, by=None, **kwargs):
            services.bookings_approve_for_session(session=session, by=by)

        session_approval_dropped.connect(approve_waiting, sender=CanvassSession, weak=False,
                                         dispatch_uid="volunteers.approve_waiting")

        def tell_of_move(sender, meeting_point, **kwargs):
            services.bookings_tell_of_move(meeting_point=meeting_point)

        meeting_point_moved.connect(tell_of_move, sender=MeetingPoint, weak=False, dispatch_uid="volunteers.moved")

        def tell_of_reschedule(sender, slot, **kwargs):
            services.bookings_tell_of_reschedule(slot=slot)

        slot_rescheduled.connect(tell_of_reschedule, sender=Slot, weak=False, dispatch_uid="volunteers.rescheduled")

        def promote_waitlist(sender, slot, **kwargs):
            from django.db import transaction

            from core.broker import enqueue
            from volunteers.tasks import waitlist_promote

            transaction.on_commit(lambda: enqueue(waitlist_promote, (slot.pk,)))

        slot_capacity_raised.connect(promote_waitlist, sender=Slot, weak=False, dispatch_uid="volunteers.promote")
        on_booking_event(services.waitlist_promote_after_release, kinds=services.RELEASING_KINDS)

        from core import metrics
        from volunteers.events import booking_event_recorded
        from volunteers.models import BookingEvent

        made = {BookingEvent.Kind.CONFIRMED: "confirmed", BookingEvent.Kind.WAITLISTED: "waitlisted"}

        def count_booking(sender, event, **kwargs):
            # frontroom_bookings_total, once the booking is committed (a rolled-back attempt is not one).
            status = made.get(event.kind)
            if status:
                from django.db import transaction

                transaction.on_commit(metrics.BOOKINGS.labels(status=status).inc)

        booking_event_recorded.connect(count_booking, sender=BookingEvent, weak=False, dispatch_uid="volunteers.metrics")

        from core.retention import retention_purge
        from volunteers.disclosure import disclosures_purge

        retention_purge.connect(disclosures_purge, weak=False, dispatch_uid="volunteers.disclosures_purge")

        from volunteers.metrics import booking_events_gauges

        metrics.state_reader_register(booking_events_gauges)

        from volunteers.devices import devices_purge

        retention_purge.connect(devices_purge, weak=False, dispatch_uid="volunteers.devices_purge")
