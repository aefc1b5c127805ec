from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "dispatch.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from volunteers.events import (
            booking_event_recorded,
            booking_events_recorded,
            booking_proven,
            phone_challenge_issued,
        )
        from volunteers.models import Booking, BookingEvent, PhoneChallenge

        def record_message(sender, event, **kwargs):
            # Runs inside the booking change's transaction: the messages commit or roll back with it.
            from dispatch.sms.services import host_text_record_for_event, message_record_for_event

            message_record_for_event(event=event)
            host_text_record_for_event(event=event)

        def record_messages(sender, events, **kwargs):
            from dispatch.sms.services import host_texts_record_for_events, messages_record_for_events

            messages_record_for_events(events=events)
            host_texts_record_for_events(events=events)

        def record_proven(sender, booking, **kwargs):
            # A booking request's proof: its host hears of the place now (one INSERT ... SELECT).
            from dispatch.sms.services import host_text_record_for_proof

            host_text_record_for_proof(booking=booking)

        def record_code(sender, challenge, code, situation, **kwargs):
            from dispatch.sms.services import challenge_message_record

            challenge_message_record(challenge=challenge, code=code, situation=situation)

        def record_release(sender, hold, booking, **kwargs):
            # A coordinator or the host let the phone through for a room: text it the address, once per booking version.
            from dispatch.sms.services import message_record

            if booking is not None:
                message_record(booking=booking, kind="address_released", version=booking.version)

        from volunteers.disclosure import front_room_released
        from volunteers.models import FrontRoomHold

        front_room_released.connect(record_release, sender=FrontRoomHold, weak=False, dispatch_uid="sms.address_released")
        phone_challenge_issued.connect(record_code, sender=PhoneChallenge, weak=False, dispatch_uid="sms.code")
        booking_event_recorded.connect(record_message, sender=BookingEvent, weak=False, dispatch_uid="sms.outbox")
        booking_events_recorded.connect(record_messages, sender=BookingEvent, weak=False, dispatch_uid="sms.outbox_bulk")
        booking_proven.connect(record_proven, sender=Booking, weak=False, dispatch_uid="sms.host_proven")

        from volunteers.models import Volunteer
        from volunteers.privacy import personal_data_erased

        def erase_messages(sender, volunteer_id, **kwargs):
            from dispatch.sms.services.privacy import messages_erase_for_volunteer

            messages_erase_for_volunteer(volunteer_id=volunteer_id)

        personal_data_erased.connect(erase_messages, sender=Volunteer, weak=False, dispatch_uid="sms.erase")

        # Webhook receipts are not in the retention purge (core.retention): a receipt holds no personal data
        # (kind, MessageSid, status, time) and is the only replay guard, since Twilio's signature has no timestamp.
