from django.apps import AppConfig


class EmailConfig(AppConfig):
    """Email, the second channel: an outbox like dispatch.sms's, written with the booking change."""

    name = "dispatch.email"
    label = "email"
    verbose_name = "Email"

    def ready(self) -> None:
        from volunteers.events import (
            booking_email_proven,
            booking_event_recorded,
            booking_events_recorded,
            booking_proven,
        )
        from volunteers.models import Booking, BookingEvent, Volunteer
        from volunteers.privacy import personal_data_erased

        def record_message(sender, event, **kwargs):
            # Inside the booking change's transaction: the email commits or rolls back with it.
            from dispatch.email.services import messages_record_for_event

            messages_record_for_event(event=event)

        def record_messages(sender, events, **kwargs):
            from dispatch.email.services import messages_record_for_events

            messages_record_for_events(events=events)

        def record_proven(sender, booking, **kwargs):
            from dispatch.email.services import messages_record_for_proof

            messages_record_for_proof(booking=booking)

        def record_email_proven(sender, booking, **kwargs):
            from dispatch.email.services import messages_record_for_email_proof

            messages_record_for_email_proof(booking=booking)

        def erase_messages(sender, volunteer_id, **kwargs):
            from dispatch.email.services import messages_erase_for_volunteer

            messages_erase_for_volunteer(volunteer_id=volunteer_id)

        booking_event_recorded.connect(record_message, sender=BookingEvent, weak=False, dispatch_uid="email.outbox")
        booking_events_recorded.connect(record_messages, sender=BookingEvent, weak=False,
                                        dispatch_uid="email.outbox_bulk")
        booking_proven.connect(record_proven, sender=Booking, weak=False, dispatch_uid="email.proven")
        booking_email_proven.connect(record_email_proven, sender=Booking, weak=False,
                                     dispatch_uid="email.email_proven")
        personal_data_erased.connect(erase_messages, sender=Volunteer, weak=False, dispatch_uid="email.erase")
