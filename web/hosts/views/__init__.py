"""Hosts' pages: their account, their front rooms, their sessions and who is coming.

Each view binds a form, calls one service or selector and renders. A domain error from a service is shown on the
form next to the field it names; a session or room that is not the host's own is a 404, never a 403, so that ids
of other hosts' sessions are not confirmed.

One module per group of pages (account, home, notifications, rooms, sessions, roster), the names the URLs use
offered here.
"""

from web.hosts.views.account import (
    LoginView,
    LogoutView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
    email_verify,
    email_verify_resend,
    signup,
)
from web.hosts.views.common import ANSWERABLE, COMING, MODEL_BACKEND, SLOTS_PREFIX, approval_enabled, managed, posted
from web.hosts.views.home import calendar_feed, home, slots_when
from web.hosts.views.notifications import notifications, notifications_code, notifications_code_new
from web.hosts.views.rooms import room_edit, room_new
from web.hosts.views.roster import (
    attendance,
    booking_address_release,
    booking_approve_view,
    booking_refuse_view,
    roster_csv,
)
from web.hosts.views.sessions import session_cancel, session_copy, session_detail, session_edit, session_new

__all__ = [
    "ANSWERABLE",
    "COMING",
    "LoginView",
    "LogoutView",
    "MODEL_BACKEND",
    "PasswordResetCompleteView",
    "PasswordResetConfirmView",
    "PasswordResetDoneView",
    "PasswordResetView",
    "SLOTS_PREFIX",
    "approval_enabled",
    "attendance",
    "booking_address_release",
    "booking_approve_view",
    "booking_refuse_view",
    "calendar_feed",
    "email_verify",
    "email_verify_resend",
    "home",
    "managed",
    "notifications",
    "notifications_code",
    "notifications_code_new",
    "posted",
    "room_edit",
    "room_new",
    "roster_csv",
    "session_cancel",
    "session_copy",
    "session_detail",
    "session_edit",
    "session_new",
    "signup",
    "slots_when",
]
