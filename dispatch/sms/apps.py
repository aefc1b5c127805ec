from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "dispatch.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from volunteers.events import booking_event_recorded, booking_events_recorded, phone_challenge_issued
        from volunteers.models import BookingEvent, PhoneChallenge

        def record_message(sender, event, **kwargs):
            # Runs inside the booking change's transaction: the message commits or rolls back with it.
            from dispatch.sms.services import message_record_for_event

            message_record_for_event(event=event)

        def record_messages(sender, events, **kwargs):
            from dispatch.sms.services import messages_record_for_events

            messages_record_for_events(events=events)

        def record_code(sender, challenge, code, situation, **kwargs):
            from dispatch.sms.services import challenge_message_record

            challenge_message_record(challenge=challenge, code=code, situation=situation)

        phone_challenge_issued.connect(record_code, sender=PhoneChallenge, weak=False, dispatch_uid="sms.code")
        booking_event_recorded.connect(record_message, sender=BookingEvent, weak=False, dispatch_uid="sms.outbox")
        booking_events_recorded.connect(record_messages, sender=BookingEvent, weak=False, dispatch_uid="sms.outbox_bulk")

        from volunteers.models import Volunteer
        from volunteers.privacy import personal_data_erased

        def erase_messages(sender, volunteer_id, **kwargs):
            from dispatch.sms.services.privacy import messages_erase_for_volunteer

            messages_erase_for_volunteer(volunteer_id=volunteer_id)

        personal_data_erased.connect(erase_messages, sender=Volunteer, weak=False, dispatch_uid="sms.erase")

        # Webhook receipts are not in the retention purge (core.retention): a receipt holds no personal data
        # (kind, MessageSid, status, time) and is the only replay guard, since Twilio's signature has no timestamp.
