from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch and overflow"

    def ready(self) -> None:
        from dispatch.services.overflow import overflow_after_waitlisting
        from volunteers.events import on_booking_event
        from volunteers.models import Booking, BookingEvent

        on_booking_event(overflow_after_waitlisting, kinds=[BookingEvent.Kind.WAITLISTED])

        from dispatch.services.overflow import overflow_after_proof
        from volunteers.events import booking_proven

        booking_proven.connect(overflow_after_proof, sender=Booking, weak=False, dispatch_uid="dispatch.overflow_after_proof")

        from volunteers.models import Volunteer
        from volunteers.privacy import personal_data_accessed

        def audit_access(sender, actor, action, volunteer_ids, detail, **kwargs):
            from dispatch.services.audit import personal_data_access_log

            personal_data_access_log(actor=actor, action=action, volunteer_ids=volunteer_ids, detail=detail)

        personal_data_accessed.connect(audit_access, sender=Volunteer, weak=False, dispatch_uid="dispatch.audit_access")
