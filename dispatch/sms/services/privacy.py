"""The SMS copies of a volunteer's personal data: erased with the volunteer (volunteers.privacy), and webhook
receipts purged after the retention period (core.retention)."""

from dispatch.sms.models import SmsMessage

ERASED_REASON = "personal_data_erased"


def messages_erase_for_volunteer(*, volunteer_id: int) -> int:
    """Inside the erasing transaction: blank the number and text of every message to the volunteer, and never send
    the ones still waiting (a cancellation written moments ago included). Safe to repeat."""
    messages = SmsMessage.objects.filter(volunteer_id=volunteer_id)
    messages.filter(status__in=[SmsMessage.Status.PENDING, SmsMessage.Status.SENDING]).update(
        status=SmsMessage.Status.SKIPPED, status_rank=SmsMessage.RANK[SmsMessage.Status.SKIPPED],
        skip_reason=ERASED_REASON, next_attempt_at=None,
    )
    return messages.update(to="", body="")


def webhook_receipts_purge(*, cutoff, dry_run: bool = False) -> int:
    """The retention purge (core.retention): delete Twilio webhook receipts received before `cutoff` (or, on a dry
    run, count them). A receipt is what makes a replayed webhook do nothing; Twilio retries within hours, so one
    older than the retention period has done its job, and its MessageSid ties Twilio's logs of a number to us."""
    from core.retention import rows_older_purge
    from dispatch.sms.models import WebhookReceipt

    return rows_older_purge(WebhookReceipt.objects.filter(received_at__lt=cutoff), dry_run=dry_run)
