"""The remembered device's cookie (volunteers.devices keeps the server-side row): a random token, signed so a
forged or edited cookie is dropped before any lookup, HttpOnly (no script reads it), SameSite=Lax (no other site's
form posts it) and Secure when the site is served over https. Its lifetime is DEVICE_REMEMBER_DAYS, but the row's
expiry is what counts: a cookie kept past it, or after "forget this device", opens nothing."""

from django.conf import settings
from django.core import signing

COOKIE = "frontroom_device"
_SALT = "frontroom.device"


def device_token(request) -> str | None:
    """The device token the request's cookie carries, if its signature holds; else None."""
    try:
        return request.get_signed_cookie(COOKIE, default=None, salt=_SALT,
                                         max_age=max(settings.DEVICE_REMEMBER_DAYS, 0) * 86400 or None)
    except signing.BadSignature:
        return None


def device_cookie_set(response, request, token: str | None) -> None:
    if not token:
        return
    response.set_signed_cookie(COOKIE, token, salt=_SALT, max_age=settings.DEVICE_REMEMBER_DAYS * 86400,
                               httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE or request.is_secure())


def device_cookie_delete(response) -> None:
    response.delete_cookie(COOKIE, samesite="Lax")
