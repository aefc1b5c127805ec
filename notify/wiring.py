"""The one place that wires what happens to volunteers and bookings (volunteers.events, volunteers.disclosure,
volunteers.privacy) to the channels. Every receiver runs inside the change's transaction, so a channel's rows
commit or roll back with it; their sends are enqueued on commit (notify.outbox). Who hears of what is
notify.audience's and each channel's record functions'; this module only says which signal reaches which."""

from notify.registry import channels


def signals_connect() -> None:
    """Connect every channel's receivers (notify.apps.NotifyConfig.ready); safe to call twice (dispatch_uid)."""
    from notify.email import services as email
    from notify.sms import services as sms
    from notify.sms.services.lifts import lift_messages_record
    from notify.webhooks import services as webhooks
    from travel.events import lift_changed
    from travel.models import LiftRequest
    from volunteers.disclosure import front_room_released
    from volunteers.events import (
        booking_email_proven,
        booking_event_recorded,
        booking_events_recorded,
        booking_proven,
        phone_challenge_issued,
    )
    from volunteers.models import Booking, BookingEvent, FrontRoomHold, PhoneChallenge, Volunteer
    from volunteers.privacy import personal_data_erased, personal_data_export_collect

    # A booking event: SMS (the volunteer's text, the host's), webhooks, email, in that order.
    def on_event(sender, event, **kwargs):
        sms.message_record_for_event(event=event)
        sms.host_text_record_for_event(event=event)
        webhooks.deliveries_record_for_event(event=event)
        email.messages_record_for_event(event=event)
        sms.come_again_record_for_event(event=event)  # a campaign text: notify.consent's gate decides

    # Many events at once (an assignment commit, a session cancelled): the same rows in a few statements.
    def on_events(sender, events, **kwargs):
        sms.messages_record_for_events(events=events)
        sms.host_texts_record_for_events(events=events)
        webhooks.deliveries_record_for_events(events=events)
        email.messages_record_for_events(events=events)

    # A booking request's phone is proven: its host hears of the place now, receivers get booking.proven, and the
    # email its event waited for is written.
    def on_proven(sender, booking, **kwargs):
        sms.host_text_record_for_proof(booking=booking)
        webhooks.deliveries_record_for_proof(booking=booking)
        email.messages_record_for_proof(booking=booking)

    def on_email_proven(sender, booking, **kwargs):
        email.messages_record_for_email_proof(booking=booking)

    def on_code(sender, challenge, code, situation, **kwargs):
        sms.challenge_message_record(challenge=challenge, code=code, situation=situation)

    # A coordinator or the host let the phone through for a room: text it the address, once per booking version.
    def on_release(sender, hold, booking, **kwargs):
        if booking is not None:
            sms.message_record(booking=booking, kind="address_released", version=booking.version)

    # Erasure: every channel blanks what its rows hold of the volunteer.
    def on_erase(sender, volunteer_id, **kwargs):
        for outbox in channels():
            outbox.erase(volunteer_id)

    def on_export(sender, volunteer_id, **kwargs):
        return {"webhook_deliveries": webhooks.deliveries_export_for_volunteer(volunteer_id=volunteer_id)}

    # A lift changed: the rider or the driver is texted (relayed: neither sees the other's number).
    def on_lift(sender, request, change, **kwargs):
        lift_messages_record(request=request, change=change)

    lift_changed.connect(on_lift, sender=LiftRequest, weak=False, dispatch_uid="notify.lift")
    # Places nobody confirmed, released by notify.confirmations' sweep: the host is told, once per session and run.
    from notify.confirmations import places_released
    from notify.host_releases import host_released_notify

    places_released.connect(lambda sender, booking_ids, **kwargs: host_released_notify(booking_ids=booking_ids),
                            weak=False, dispatch_uid="notify.places_released")
    booking_event_recorded.connect(on_event, sender=BookingEvent, weak=False, dispatch_uid="notify.event")
    booking_events_recorded.connect(on_events, sender=BookingEvent, weak=False, dispatch_uid="notify.events")
    booking_proven.connect(on_proven, sender=Booking, weak=False, dispatch_uid="notify.proven")
    booking_email_proven.connect(on_email_proven, sender=Booking, weak=False, dispatch_uid="notify.email_proven")
    phone_challenge_issued.connect(on_code, sender=PhoneChallenge, weak=False, dispatch_uid="notify.code")
    front_room_released.connect(on_release, sender=FrontRoomHold, weak=False, dispatch_uid="notify.released")
    personal_data_erased.connect(on_erase, sender=Volunteer, weak=False, dispatch_uid="notify.erase")
    personal_data_export_collect.connect(on_export, sender=Volunteer, weak=False, dispatch_uid="notify.export")
