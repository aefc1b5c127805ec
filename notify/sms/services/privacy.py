"""The SMS copies of a volunteer's personal data, erased with the volunteer (volunteers.privacy: on request, and
by the retention purge).

Twilio webhook receipts (WebhookReceipt) are never purged: they hold no personal data (kind, MessageSid, status,
time), and Twilio's signature has no timestamp, so a receipt is all that stops a captured signed webhook, replayed
months later, from being handled again (a replayed NO would give up the volunteer's next booking). The body of an
inbound message and the number it came from are never stored: what they said about a person is in the volunteer's
rows, which the purge anonymises."""

from notify.sms.models import SmsMessage

ERASED_REASON = "personal_data_erased"


def messages_erase_for_volunteer(*, volunteer_id: int) -> int:
    """Inside the erasing transaction: blank the number and text of every message to the volunteer, and never send
    the ones still waiting (a cancellation written moments ago included). Safe to repeat."""
    messages = SmsMessage.objects.filter(volunteer_id=volunteer_id)
    messages.filter(status__in=[SmsMessage.Status.PENDING, SmsMessage.Status.SENDING]).update(
        status=SmsMessage.Status.SKIPPED, status_rank=SmsMessage.RANK[SmsMessage.Status.SKIPPED],
        skip_reason=ERASED_REASON, next_attempt_at=None,
    )
    # Texts to hosts about the volunteer's bookings carry the volunteer's first name (and the host's own number,
    # which stays): their text goes, and those not yet sent never are (the host's roster shows the cancellation).
    about = SmsMessage.objects.filter(host__isnull=False, booking__volunteer_id=volunteer_id)
    about.filter(status__in=[SmsMessage.Status.PENDING, SmsMessage.Status.SENDING]).update(
        status=SmsMessage.Status.SKIPPED, status_rank=SmsMessage.RANK[SmsMessage.Status.SKIPPED],
        skip_reason=ERASED_REASON, next_attempt_at=None,
    )
    about.update(body="")
    return messages.update(to="", body="")

