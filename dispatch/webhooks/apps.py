from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "dispatch.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from volunteers.events import booking_event_recorded, booking_events_recorded, booking_proven
        from volunteers.models import Booking, BookingEvent, Volunteer
        from volunteers.privacy import personal_data_erased, personal_data_export_collect

        def record_delivery(sender, event, **kwargs):
            # Inside the booking change's transaction: the delivery rows commit or roll back with it.
            from dispatch.webhooks.services import deliveries_record_for_event

            deliveries_record_for_event(event=event)

        def record_deliveries(sender, events, **kwargs):
            from dispatch.webhooks.services import deliveries_record_for_events

            deliveries_record_for_events(events=events)

        def record_proven(sender, booking, **kwargs):
            # In the proof's transaction (or just after the code check's one statement): one INSERT ... SELECT.
            from dispatch.webhooks.services import deliveries_record_for_proof

            deliveries_record_for_proof(booking=booking)

        def erase_deliveries(sender, volunteer_id, **kwargs):
            from dispatch.webhooks.services import deliveries_erase_for_volunteer

            deliveries_erase_for_volunteer(volunteer_id=volunteer_id)

        booking_event_recorded.connect(record_delivery, sender=BookingEvent, weak=False, dispatch_uid="webhooks.outbox")
        booking_events_recorded.connect(record_deliveries, sender=BookingEvent, weak=False,
                                        dispatch_uid="webhooks.outbox_bulk")
        booking_proven.connect(record_proven, sender=Booking, weak=False, dispatch_uid="webhooks.proven")
        personal_data_erased.connect(erase_deliveries, sender=Volunteer, weak=False, dispatch_uid="webhooks.erase")

        def export_deliveries(sender, volunteer_id, **kwargs):
            from dispatch.webhooks.services import deliveries_export_for_volunteer

            return {"webhook_deliveries": deliveries_export_for_volunteer(volunteer_id=volunteer_id)}

        personal_data_export_collect.connect(export_deliveries, sender=Volunteer, weak=False,
                                             dispatch_uid="webhooks.export")
