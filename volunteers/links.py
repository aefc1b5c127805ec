"""The private links texted to volunteers, and who opens them."""

import re

from django.conf import settings


def manage_url(token: str) -> str:
    """The booking's private page, PUBLIC_BASE_URL + /b/<manage_token>: whoever opens it holds the phone it was texted to."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/b/{token}"


def needed_url(token: str) -> str:
    """A sign-up's private page, PUBLIC_BASE_URL + /n/<token>: its choices, to change or stop (volunteers.signup)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/n/{token}"


# Machines that open a link as soon as it is pasted or received: chat apps' link previews, mail and SMS link
# scanners, search engines. Their opening proves nothing about who holds the phone. Matched case-insensitively
# anywhere in the User-Agent. (iMessage previews as "facebookexternalhit ... Twitterbot".)
AUTOMATIC_OPENERS = (
    "facebookexternalhit", "facebot", "whatsapp", "slackbot", "slack-imgproxy", "twitterbot", "telegrambot",
    "discordbot", "linkedinbot", "skypeuripreview", "googlebot", "google-inspectiontool", "bingbot", "bingpreview",
    "applebot", "yandexbot", "duckduckbot", "baiduspider", "pinterestbot", "redditbot", "embedly", "iframely",
    "vkshare", "curl/", "wget/", "python-requests", "go-http-client",
)
# And any agent that calls itself a bot ("...bot/1.0", "bot;"), a preview, a crawler or a spider. "Cubot" is
# a phone maker whose handsets name themselves in the User-Agent: they are people.
_AUTOMATIC = re.compile("|".join(re.escape(name) for name in AUTOMATIC_OPENERS)
                        + r"|(?<!cu)bot\b|preview|crawler|spider", re.IGNORECASE)


def opened_automatically(*, method: str, user_agent: str | None) -> bool:
    """Whether a request for a private link comes from a machine rather than the person it was texted to: a HEAD
    (link checkers and scanners ask for headers only), or a preview, scanner or crawler's User-Agent."""
    return method == "HEAD" or bool(_AUTOMATIC.search(user_agent or ""))
