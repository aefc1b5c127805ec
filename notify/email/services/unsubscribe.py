"""Unsubscribe links: a token per recipient, signed with SECRET_KEY (unguessable, so one can't unsubscribe
somebody else or learn who is on file), that stops every email to them with one POST (RFC 8058)."""

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import NotFound
from notify.email.models import HostEmailPreference
from volunteers.consent_ledger import consent_channel_stopped
from volunteers.models import Volunteer

_SIGNER = signing.Signer(salt="frontroom.email.unsubscribe", sep=".")


def volunteer_token(volunteer_id: int) -> str:
    return _SIGNER.sign(f"v{volunteer_id}")


def host_token(host_id: int) -> str:
    return _SIGNER.sign(f"h{host_id}")


def token_read(token: str) -> tuple[str, int]:
    """("volunteer" | "host", id) for a valid token; NotFound for anything else (the same for every bad token)."""
    try:
        value = _SIGNER.unsign(token or "")
    except signing.BadSignature:
        raise NotFound(gettext("This unsubscribe link is not valid.")) from None
    if len(value) < 2 or value[0] not in "vh" or not value[1:].isdigit():
        raise NotFound(gettext("This unsubscribe link is not valid."))
    return ("volunteer" if value[0] == "v" else "host"), int(value[1:])


@transaction.atomic
def email_unsubscribe(*, token: str) -> str:
    """Stop every email to the token's recipient: a volunteer is opted out (their time recorded; emails already
    queued are skipped when their turn comes), a host's notices are turned off. Idempotent. Raises NotFound."""
    who, pk = token_read(token)
    if who == "volunteer":
        if Volunteer.objects.filter(pk=pk, email_opted_out_at__isnull=True).update(
                email_opted_out_at=timezone.now(), updated_at=timezone.now()):
            # Recorded in the ledger; campaign messages stop by every channel (notify.consent).
            consent_channel_stopped(volunteer_id=pk, channel="email", how="unsubscribe")
        return who
    if get_user_model().objects.filter(pk=pk).exists():
        HostEmailPreference.objects.update_or_create(host_id=pk, defaults={"notify": HostEmailPreference.Notify.OFF})
    return who
