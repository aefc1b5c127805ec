"""Login guards for every login form (admin, API token, host pages): a per-IP rate limit and django-axes' lockout.

Both sit in the authentication backend, so any view that calls ``django.contrib.auth.authenticate`` with the
request is covered without knowing about them. Lockouts are kept by axes in PostgreSQL (AccessAttempt rows,
listed in the admin, where a coordinator can delete one to unlock early): they survive a Redis flush, and a
login never depends on Redis being up. The per-IP attempt count (scope login_ip) is core.ratelimit's.
"""

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Sum
from django.utils.translation import gettext as _

from core.errors import RateLimited
from core.ratelimit import client_ip_key, rate_limit


class LoginGuardBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: counts the attempt per IP, then refuses it if axes has locked it out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # no client to count or lock out: the shell, the test client's login()
        rate_limit(scope="login_ip", key=client_ip_key(request),
                   message=_("Too many login attempts from your network. Please wait a little and try again."))
        return super().authenticate(request, username=username, password=password, **kwargs)


class EmailBackend(ModelBackend):
    """Sign in with the account's email address, whatever its case (hosts sign in by email: docs/pages-hosts.md).

    Before ModelBackend, which still takes a username (the admin, the API's token, staff without an address). An
    address two old accounts share signs in the one whose password it is, and neither if both match."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not isinstance(username, str) or "@" not in username or password is None:
            return None
        users = [user for user in get_user_model().objects.filter(email__iexact=username.strip())
                 if user.check_password(password) and self.user_can_authenticate(user)]
        if not users:
            get_user_model()().set_password(password)  # as long as a wrong password, so the time says nothing
        return users[0] if len(users) == 1 else None


class LoginLockoutHandler(AxesDatabaseHandler):
    """Locks out a (username, IP) after AXES_FAILURE_LIMIT failures, and an IP after LOGIN_IP_FAILURE_LIMIT.

    Axes compares every lockout parameter with one limit; a household or an office shares an address, so the
    IP alone gets a higher one. AXES_LOCKOUT_PARAMETERS is [["username", "ip_address"], "ip_address"].
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_user_and_ip, by_ip = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if by_ip >= settings.LOGIN_IP_FAILURE_LIMIT:
            return max(by_user_and_ip, get_failure_limit(request, credentials))
        return by_user_and_ip


# AccessAttempt.username is a varchar(255): a longer name typed at any login (the form and the API take any
# length, and no account's name is that long) would fail axes' INSERT and answer 500 on every try.
AXES_USERNAME_MAX_LENGTH = 255


def axes_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username (or email address) axes records, cut to fit its column (as axes cuts
    the user agent)."""
    if credentials:
        username = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        username = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    # Lowercased: an address signs in whatever its case, so its failures count together whatever their case.
    return username.strip().lower()[:AXES_USERNAME_MAX_LENGTH] if isinstance(username, str) else username


def lockout_seconds(request=None) -> int:
    """How long a lockout lasts from the last failure (every failure during a lockout starts it again)."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 3600


def locked_out_error() -> RateLimited:
    return RateLimited(_("Too many failed logins. For your safety, signing in is paused for a while."), code="locked_out", retry_after=lockout_seconds())


def raise_if_locked_out(request) -> None:
    """After a failed authenticate(): raise RateLimited (429, locked_out) if axes has just locked this client out.

    AxesMiddleware does this for Django views; DRF views wrap the request, so axes' mark lands on DRF's Request.
    """
    if getattr(request, "axes_locked_out", False):
        raise locked_out_error()
