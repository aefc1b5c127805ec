from django.conf import settings
from django.utils import translation


def html_lang(code: str | None) -> str:
    """Django's language code as the BCP 47 tag <html lang> takes: "en-gb" -> "en-GB"."""
    language, _, region = (code or settings.LANGUAGE_CODE).partition("-")
    return f"{language}-{region.upper()}" if region else language


def site(request) -> dict:
    return {"SITE_NAME": settings.SITE_NAME, "HTML_LANG": html_lang(translation.get_language())}
