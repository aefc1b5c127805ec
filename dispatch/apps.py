from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch, overflow and SMS"

    def ready(self) -> None:
        from dispatch.services.overflow import overflow_after_waitlisting
        from volunteers.events import on_booking_event
        from volunteers.models import BookingEvent

        on_booking_event(overflow_after_waitlisting, kinds=[BookingEvent.Kind.WAITLISTED])
