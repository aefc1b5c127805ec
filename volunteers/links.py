"""The private links texted to volunteers."""

from django.conf import settings


def manage_url(token: str) -> str:
    """The booking's private page, PUBLIC_BASE_URL + /b/<manage_token>: whoever opens it holds the phone it was texted to."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/b/{token}"
