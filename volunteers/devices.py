"""Remembered devices: the browser (or API client) that proved a phone with a texted code keeps a random token, so
that phone's next booking there needs no second code and its list of bookings (/my/) opens without one.

Only the token's SHA-256 is stored (RememberedDevice.token_hash): the table alone opens nothing. A token proves one
phone, the volunteer it was made for, and nothing else: typing another number asks for a code. It works until
expires_at (DEVICE_REMEMBER_DAYS after it was made; the cookie's own lifetime is not trusted), and stops at once
when the device is forgotten or the volunteer erased (the row is deleted). The pages keep the token in a signed,
HttpOnly, SameSite=Lax cookie (web.volunteer.devices); the API hands it to the client that typed the code.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from volunteers.models import PhoneChallenge, RememberedDevice, Volunteer

_TOKEN_MAX = 64  # what secrets.token_urlsafe(32) makes, with room: anything longer names no device
# last_used_at is refreshed at most this often: no write per page view.
_TOUCH_EVERY = timedelta(hours=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def device_remember(*, volunteer_id: int, user_agent: str = "", replacing: str | None = None) -> str | None:
    """Remember a device for the volunteer whose phone it has just proven: returns the new token (the caller hands
    it to the device), or None when DEVICE_REMEMBER_DAYS is 0. The device's earlier token (`replacing`), whatever
    phone it proved, is forgotten: a device remembers one phone."""
    if replacing:
        device_forget(token=replacing)
    if settings.DEVICE_REMEMBER_DAYS <= 0:
        return None
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    RememberedDevice.objects.create(volunteer_id=volunteer_id, token_hash=_hash(token), user_agent=user_agent[:120],
                                    last_used_at=now, expires_at=now + timedelta(days=settings.DEVICE_REMEMBER_DAYS))
    return token


def device_volunteer(*, token: str | None) -> Volunteer | None:
    """The volunteer a device's token was made for, if it still works (not forgotten, not expired, the volunteer
    not erased); else None. Never raises for junk."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    now = timezone.now()
    device = (RememberedDevice.objects.select_related("volunteer")
              .filter(token_hash=_hash(token), expires_at__gt=now).first())
    if device is None or device.volunteer.anonymised_at is not None:
        return None
    if device.last_used_at < now - _TOUCH_EVERY:
        RememberedDevice.objects.filter(pk=device.pk).update(last_used_at=now)
    return device.volunteer


def device_proves(*, token: str | None, phone: str) -> Volunteer | None:
    """The volunteer of this E.164 phone if the device's token was made for it; None for any other phone."""
    volunteer = device_volunteer(token=token)
    if volunteer is None or not hmac.compare_digest(volunteer.phone, phone):
        return None
    return volunteer


def device_forget(*, token: str | None) -> bool:
    """Forget a device: its token stops working at once. Idempotent; False if it named no device."""
    if not token or len(token) > _TOKEN_MAX:
        return False
    return RememberedDevice.objects.filter(token_hash=_hash(token)).delete()[0] > 0


def devices_forget_for(*, volunteer_id: int) -> int:
    """Forget every device remembered for a volunteer (erasure). Returns how many."""
    return RememberedDevice.objects.filter(volunteer_id=volunteer_id).delete()[0]


def devices_purge(sender, *, cutoff: datetime, dry_run: bool = False, **kwargs) -> dict[str, int]:
    """core.retention receiver: devices whose time is over (they open nothing any more, whatever the cutoff), and
    "my bookings" codes for numbers with no volunteer made before the cutoff (they name a number and nobody's
    erasure would find them through a volunteer)."""
    from core.retention import rows_older_purge

    return {
        "remembered devices": rows_older_purge(RememberedDevice.objects.filter(expires_at__lte=timezone.now()),
                                               dry_run=dry_run),
        "codes for unknown numbers": rows_older_purge(
            PhoneChallenge.objects.filter(volunteer__isnull=True, created_at__lt=cutoff), dry_run=dry_run),
    }



def device_token_hash(token: str | None) -> str | None:
    """What a device's token is stored as (RememberedDevice.token_hash), for a read that checks it in its own
    statement (volunteers.manage_read; read-only, no last_used_at touch); None for junk or no token."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    return _hash(token)
