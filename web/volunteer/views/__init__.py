"""Volunteers' pages (no account): find a session, book a place, prove the phone, manage the booking.

Every view binds a form, calls one service or selector and renders; the domain errors the API maps become
inline messages here. Writes answer with a redirect (POST-redirect-GET), so the journey works without script.

One module per group of pages (search, booking, manage, changes, codes, my), the names the URLs use offered here.
"""

from web.volunteer.views.booking import book
from web.volunteer.views.changes import booking_moved_to, cancel, decline, swap, swappable
from web.volunteer.views.codes import check, code_page, code_resent, resend
from web.volunteer.views.common import booking_or_404, by_machine, not_found, rate_limited
from web.volunteer.views.manage import HOLDING, calendar_feed, calendar_file, email, manage, prove
from web.volunteer.views.my import forget_device, my, my_check, my_data, my_resend, privacy
from web.volunteer.views.party import party
from web.volunteer.views.search import PAGE_SIZE, find, home, session_detail, session_or_404, session_preview

__all__ = [
    "HOLDING",
    "PAGE_SIZE",
    "party",
    "book",
    "booking_moved_to",
    "booking_or_404",
    "by_machine",
    "calendar_feed",
    "calendar_file",
    "cancel",
    "check",
    "code_page",
    "code_resent",
    "decline",
    "email",
    "find",
    "forget_device",
    "home",
    "manage",
    "my",
    "my_check",
    "my_data",
    "my_resend",
    "not_found",
    "privacy",
    "prove",
    "rate_limited",
    "resend",
    "session_detail",
    "session_or_404",
    "session_preview",
    "swap",
    "swappable",
]
