"""Frontroom settings, read from the environment.

Defaults are the embedded ones (SQLite under ./var, Celery eager, SMS printed to the log)
so ``make run`` needs nothing else. Production values are documented in the README.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_float, env_int, env_int_list, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FRONTROOM_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "dev-only-insecure-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "seats",
    "sessions.apps.CanvassSessionsConfig",
    "volunteers",
    "travel",
    "dispatch",
    "notify",
    "notify.sms",
    "notify.webhooks",
    "notify.email",
    "web",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # first: every log line of the request carries its id
    "core.metrics.RequestMetricsMiddleware",
    "core.middleware.ApiEdgeMiddleware",  # sees every answer under /api/ and /twilio/ (docs/api.md)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the cookie the switch sets, else of Accept-Language, else English; URLs carry no prefix.
    "web.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "web.middleware.PrivateLinkHeadersMiddleware",
    "web.middleware.PrivateCacheControlMiddleware",  # private, no-store on every private answer
    "web.middleware.RateLimitedMiddleware",
    "web.middleware.ServiceUnavailableMiddleware",
    "web.page_cache.PublicPageCacheMiddleware",  # public pages from the shared cache (docs/caching.md)
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
# Django's form renderer with the plain <input> and <select> widgets written out in Python (web/form_renderer.py).
FORM_RENDERER = "web.form_renderer.FormRenderer"
CSRF_FAILURE_VIEW = "web.errors.csrf_failure"
# Request bodies over this many bytes are refused with 413 (JSON under /api/ and /twilio/; docs/api.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2621440)  # Django's default, 2.5 MB
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "web.context_processors.site",
            ]
        },
    }
]

_database_url = env_str("DATABASE_URL")
if not _database_url:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        _database_url or f"sqlite:///{VAR_DIR / 'frontroom.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A kept connection that died (PostgreSQL restarted) is found and replaced at the start of a request,
        # rather than failing that request.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails a request in seconds (a 503), not after the operating system's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))
# PostgreSQL down or restarting: 503 with this Retry-After (seconds), JSON under /api/, a page elsewhere.
UNAVAILABLE_RETRY_AFTER = env_int("UNAVAILABLE_RETRY_AFTER", 10)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_SERVER_SIDE_BINDING", True):
    # Parameters travel apart from the SQL, and psycopg prepares a statement the fifth time it runs:
    # the booking path's statements are then parsed and planned once per connection, not per request.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
# Volunteers' and hosts' pages, texts and emails in English (the default) or Welsh (docs/languages.md).
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language switch (web.i18n) remembers a choice in this cookie, a year: no session is needed to read it.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Whitenoise serves the app's own static files, compressed and with far-future cache headers (hashed names)
# once collectstatic has run; with DEBUG or without collected files it serves them from the apps directly.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": env_str("STATICFILES_BACKEND",
                                       "whitenoise.storage.CompressedManifestStaticFilesStorage")},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
WHITENOISE_MANIFEST_STRICT = False
SITE_NAME = env_str("SITE_NAME", "Frontroom")
# Messages to everyone booked (docs/messaging.md). Campaign messages name who sent them (UK imprint rules):
CAMPAIGN_SENDER_NAME = env_str("CAMPAIGN_SENDER_NAME", "")  # e.g. "Promoted by A. Agent for the Party, 1 High St"
MESSAGES_PER_SENDER_DAY = env_int("MESSAGES_PER_SENDER_DAY", 5)  # messages a host or coordinator may send a day
MESSAGE_BODY_MAX = env_int("MESSAGE_BODY_MAX", 480)  # characters a sender may write (3 to 7 SMS segments)
SMS_SEGMENT_COST_PENCE = env_float("SMS_SEGMENT_COST_PENCE", 4.0)  # shown in the preview: what a segment costs
LOGIN_URL = "/host/login/"
LOGIN_REDIRECT_URL = "/host/"
LOGOUT_REDIRECT_URL = "/"
# Hosts' password-reset emails: printed to the log by default (make run); set an SMTP backend in production.
# EMAIL_BACKEND (the variable) names the backend that sends; Django's setting is its counted wrapper (core/mail.py).
# Volunteers' and hosts' emails (notify.email, docs/email.md) go through it too: SMTP as soon as EMAIL_HOST is
# set, or any backend by dotted path, e.g. django-anymail's anymail.backends.mailgun.EmailBackend with its
# settings as ANYMAIL_<NAME> variables (ANYMAIL_MAILGUN_API_KEY=... becomes ANYMAIL["MAILGUN_API_KEY"]).
EMAIL_DELIVERY_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if env_str("EMAIL_HOST") else
    "django.core.mail.backends.console.EmailBackend")
EMAIL_BACKEND = "core.mail.MeteredEmailBackend"
ANYMAIL = {name.removeprefix("ANYMAIL_").removesuffix("_FILE"): env_str(name.removesuffix("_FILE"))
           for name in os.environ if name.startswith("ANYMAIL_")}
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Frontroom <noreply@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    # JSON only (core/parsers.py: size, nesting and NUL limits); the schema then documents only JSON bodies.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Frontroom API",
    "DESCRIPTION": (
        "Canvass-session scheduling and dispatch: hosts post front-room sessions, "
        "volunteers find and book door-knocking slots, coordinators dispatch and redirect overflow."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package, served by the app: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.postprocess",
                             "core.schema.add_twilio_webhooks"],
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "volunteers.models.Booking.Status",
        "SessionStatusEnum": "sessions.models.CanvassSession.Status",
    },
}

# --- Celery -------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Kombu's Redis transport with a publishing client kept per channel (core/broker.py).
CELERY_BROKER_TRANSPORT = "core.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", REDIS_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
# Celery's Django fixup closes the database connection before and after every task (a new
# PostgreSQL backend per task) unless this is set; it then closes it every this many tasks, and
# celery_app recycles connections the way Django does per request (CONN_MAX_AGE, errors).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# A request that enqueues while Redis is down gives up at once (docs/operations.md): one connection attempt
# (max_retries 0: kombu would otherwise retry for CELERY_BROKER_CONNECTION_TIMEOUT, about 6 s), short socket
# timeouts, no publish retries; the outbox rows and the sweeps make up for it. The worker's own consumer
# connection keeps Celery's reconnect loop (broker_connection_retry), which these options do not touch.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than any countdown we use, so Redis never redelivers a task that is only waiting.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": env_float("CELERY_BROKER_CONNECT_TIMEOUT", 0.1),
    "socket_timeout": env_float("CELERY_BROKER_SOCKET_TIMEOUT", 0.25),
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
# After a failed publish this process leaves the broker alone this long (core.broker.enqueue).
CELERY_BROKER_DOWN_RETRY_SECONDS = env_float("CELERY_BROKER_DOWN_RETRY_SECONDS", 2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Beat's own scheduler, writing beat's heartbeat as it ticks (core/heartbeat.py; /healthz reads it).
CELERY_BEAT_SCHEDULER = "core.heartbeat:BeatScheduler"
CELERY_BEAT_SCHEDULE = {
    # Safety nets for work whose on-commit enqueue was lost (broker down, worker killed).
    "booking-event-sweep": {"task": "volunteers.booking_event_sweep", "schedule": 60.0},
    "outbox-sweep": {"task": "notify.sweep", "schedule": 60.0},  # every channel's (notify.outbox)
    "sms-reminders": {"task": "sms.reminders_enqueue_due", "schedule": 300.0},
    # The planned day-before reminders due in the next minute (notify/sms/services/reminder_window.py).
    "sms-reminders-release": {"task": "sms.reminders_release", "schedule": 60.0},
    "sms-host-digests": {"task": "sms.host_digests_enqueue", "schedule": 3600.0},
    "email-reminders": {"task": "email.reminders_enqueue_due", "schedule": 300.0},
    "email-host-digests": {"task": "email.host_digests_enqueue", "schedule": 3600.0},
    "overflow-sweep": {"task": "dispatch.overflow_sweep", "schedule": 300.0},
    "assignment-runs-sweep": {"task": "dispatch.assignment_runs_sweep", "schedule": 60.0},
    "personal-data-purge": {"task": "volunteers.personal_data_purge", "schedule": 6 * 3600.0},
    "unproven-bookings-release": {"task": "volunteers.bookings_release_unproven", "schedule": 60.0},
    "offers-lapse": {"task": "volunteers.offers_lapse", "schedule": 60.0},
    "unconfirmed-release": {"task": "notify.unconfirmed_release", "schedule": 300.0},
    "sms-follow-ups": {"task": "sms.follow_ups_enqueue_due", "schedule": 300.0},
    "email-follow-ups": {"task": "email.follow_ups_enqueue_due", "schedule": 300.0},
    "email-host-reports": {"task": "email.host_reports_enqueue_due", "schedule": 300.0},
    "slots-overbook-refresh": {"task": "volunteers.slots_overbook_refresh", "schedule": 3600.0},
}
# Personal data (docs/privacy.md): volunteers are anonymised this many days after their last session ends.
PERSONAL_DATA_RETENTION_DAYS = env_int("PERSONAL_DATA_RETENTION_DAYS", 90)

# --- Cache and abuse limits (docs/limits.md) ------------------------------------
# Redis when REDIS_URL is set (shared by every worker and machine); in-process memory on the embedded default.
_CACHE_URL = env_str("CACHE_URL") or REDIS_URL


def _cache(timeout: float, location: str) -> dict:
    if not _CACHE_URL:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": location}
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "frontroom"),
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout}}


CACHES = {
    "default": _cache(0.5, "frontroom"),
    # The same Redis through its own pool with shorter timeouts: a limiter that cannot count lets the request
    # through (fails open) rather than holding it.
    "ratelimit": _cache(env_float("RATE_LIMIT_CACHE_TIMEOUT", 0.25), "frontroom-ratelimit"),
}
RATE_LIMIT_CACHE = "ratelimit"
# Public pages (home, search results, a session's page, the API's session search) kept rendered in Redis, shared by
# every worker and machine, and dropped by tag when a booking or an edit changes what they show (docs/caching.md).
PAGE_CACHE_URL = env_str("PAGE_CACHE_URL") or _CACHE_URL
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", True)
PAGE_CACHE_KEY_PREFIX = env_str("PAGE_CACHE_KEY_PREFIX", "frontroom-pages")
PAGE_CACHE_FRESH_SECONDS = env_int("PAGE_CACHE_FRESH_SECONDS", 60)  # without a bump; the bound for a lost one
# Kept this much longer for degraded mode: served, marked as possibly out of date, while PostgreSQL is unreachable.
PAGE_CACHE_STALE_SECONDS = env_int("PAGE_CACHE_STALE_SECONDS", 3600)
# Stored on the n-th time a page is asked for within PAGE_CACHE_FRESH_SECONDS: a URL asked for once is not kept.
PAGE_CACHE_ADMIT_AFTER = env_int("PAGE_CACHE_ADMIT_AFTER", 2)
PAGE_CACHE_SHARED_MAX_AGE = env_int("PAGE_CACHE_SHARED_MAX_AGE", 5)  # s-maxage: a CDN cannot hear the bumps
PAGE_CACHE_STALE_WHILE_REVALIDATE = env_int("PAGE_CACHE_STALE_WHILE_REVALIDATE", 30)
PAGE_CACHE_SOCKET_TIMEOUT = env_float("PAGE_CACHE_SOCKET_TIMEOUT", 0.1)
PAGE_CACHE_RETRY_SECONDS = env_float("PAGE_CACHE_RETRY_SECONDS", 5.0)  # leave an unreachable Redis alone this long
PAGE_CACHE_DB_RETRY_SECONDS = env_float("PAGE_CACHE_DB_RETRY_SECONDS", 2.0)  # serve stale without asking PostgreSQL
RATE_LIMIT_CACHE_RETRY_SECONDS = env_float("RATE_LIMIT_CACHE_RETRY_SECONDS", 5.0)  # skip a dead cache this long
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# Only set this behind a proxy you run, which overwrites or appends the header: e.g. X-Forwarded-For.
TRUSTED_PROXY_IP_HEADER = env_str("TRUSTED_PROXY_IP_HEADER", "")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)  # proxies of ours that append to that header
RATE_LIMIT_IPV6_PREFIX = env_int("RATE_LIMIT_IPV6_PREFIX", 64)  # an IPv6 client counts as its /64
# ... and every /64 of one /48 counts together as well, allowed this many times one client's count: a /48 is
# what one customer or site can be given (65,536 /64s), so per-/64 counts alone multiply by 65,536 (docs/limits.md).
RATE_LIMIT_IPV6_AGGREGATE_PREFIX = env_int("RATE_LIMIT_IPV6_AGGREGATE_PREFIX", 48)
RATE_LIMIT_IPV6_AGGREGATE_FACTOR = env_int("RATE_LIMIT_IPV6_AGGREGATE_FACTOR", 4)
if RATE_LIMIT_IPV6_AGGREGATE_FACTOR < 1 or not 0 <= RATE_LIMIT_IPV6_AGGREGATE_PREFIX <= 128:
    raise ImproperlyConfigured("RATE_LIMIT_IPV6_AGGREGATE_FACTOR must be 1 or more and "
                               "RATE_LIMIT_IPV6_AGGREGATE_PREFIX 0 (off) to 128")
# scope -> "count/period" (s, m, h, d), several windows joined by commas, or "off".
# The defaults let a family (or a group sharing one address) book from one home IP.
RATE_LIMITS = {
    scope: env_rate(f"RATE_LIMIT_{scope.upper()}", default)
    for scope, default in {
        "booking_ip": "30/h,100/d",
        "booking_phone": "10/h",
        "signup_ip": "20/h,60/d",
        "signup_phone": "5/h",
        # Moving a booking to another slot, on top of booking_phone, booking_ip and sms_phone_day (a move is a
        # booking, and texts the new link): each move can tell two hosts, so fewer of them.
        "move_phone": "3/h,6/d",
        "code_check_ip": "30/h",
        "code_check_phone": "10/h",
        "code_send_phone": "5/h",
        "code_send_ip": "30/h",
        "sms_phone_day": "20/d",
        # Codes a host asks to have texted to a mobile (a new mobile, a new code), whatever the numbers.
        "host_code_send": "5/h,10/d",
        "host_signup_ip": "10/h,20/d",
        # Verification emails a host asks to be sent again (a new host's address, per account).
        "host_verify_email": "3/h,6/d",
        "login_ip": "60/h",
        "password_reset_ip": "10/h,30/d",
        # Calendar apps poll every few minutes to hours, and one provider fetches many people's feeds.
        "feed_ip": "600/h",
        # Self check-in codes tried per booking and per client, and feedback pages posted (docs/after-the-session.md).
        "check_in_booking": "5/h",
        "check_in_ip": "30/h",
        "feedback_ip": "30/h",
    }.items()
}

# Failed logins (admin, API token, host pages) lock out through django-axes, state in PostgreSQL (core/auth.py).
# Hosts sign in with their email address (core.auth.EmailBackend); a username still works (admin, API token).
AUTHENTICATION_BACKENDS = ["core.auth.LoginGuardBackend", "core.auth.EmailBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env_bool("LOGIN_LOCKOUT_ENABLED", True)
AXES_HANDLER = "core.auth.LoginLockoutHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)  # per (username, IP)
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 20)  # per IP, whatever the usernames
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # core.auth relies on this order
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_RESET_ON_SUCCESS = False  # else an attacker with an account of their own clears their IP's failures
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.axes_client_ip"
AXES_USERNAME_CALLABLE = "core.auth.axes_username"  # cut to axes' column: a 300-character name is no 500
AXES_LOCKOUT_CALLABLE = "web.errors.login_locked_out"
AXES_DISABLE_ACCESS_LOG = not env_bool("LOGIN_ACCESS_LOG", False)  # successful logins are not personal-data logged
AXES_VERBOSE = False

# --- Geography ----------------------------------------------------------------
# Remote postcode lookup (postcodes.io) for postcodes missing from the local table. Off by default.
POSTCODE_REMOTE_LOOKUP = env_bool("POSTCODE_REMOTE_LOOKUP", False)
POSTCODE_REMOTE_URL = env_str("POSTCODE_REMOTE_URL", "https://api.postcodes.io")
POSTCODE_REMOTE_TIMEOUT = env_float("POSTCODE_REMOTE_TIMEOUT", 3.0)
# The coordinators' maps read the reference data by path (never copied into the repository): for each
# boundary set, a hex cartogram and the boundaries (2024: ONS's ultra-generalised GeoJSON; 2010: a
# generalised TopoJSON). The maps draw the current set's files. Projected paths are cached on disk.
# Where: FRONTROOM_SHARED_DATA (as the tests use), else ../shared/data beside the checkout.
GEO_DATA_DIR = Path(env_str("GEO_DATA_DIR", str(
    Path(env_str("FRONTROOM_SHARED_DATA") or str(BASE_DIR.parent / "shared" / "data")) / "geo")))
GEO_HEXJSON_PATH = Path(env_str("GEO_HEXJSON_PATH", str(GEO_DATA_DIR / "uk-constituencies-2024.hexjson")))
GEO_BOUNDARIES_PATH = Path(env_str("GEO_BOUNDARIES_PATH", str(GEO_DATA_DIR / "pcon_2024set_boundaries_BUC.geojson")))
GEO_HEXJSON_2010_PATH = Path(env_str("GEO_HEXJSON_2010_PATH", str(GEO_DATA_DIR / "constituencies.hexjson")))
GEO_BOUNDARIES_2010_PATH = Path(env_str("GEO_BOUNDARIES_2010_PATH",
                                        str(GEO_DATA_DIR / "pcon_2010set_boundaries_generalised.topo.json")))
MAP_CACHE_DIR = Path(env_str("MAP_CACHE_DIR", str(VAR_DIR / "cache")))

# --- Bookings -----------------------------------------------------------------
MAX_SLOTS_PER_SESSION = env_int("MAX_SLOTS_PER_SESSION", 50)  # more is a 400 (creating or adding slots)
API_MAX_OFFSET = env_int("API_MAX_OFFSET", 10000)  # deepest offset / page number the API pages to (docs/api.md)
DEFAULT_SEARCH_RADIUS_KM = env_float("DEFAULT_SEARCH_RADIUS_KM", 25.0)
MAX_SEARCH_RADIUS_KM = env_float("MAX_SEARCH_RADIUS_KM", 200.0)
DIRECT_BOOKING_TRAVEL_KM = env_float("DIRECT_BOOKING_TRAVEL_KM", 15.0)
# "Send me where I'm needed" offers this many days, from today, as morning/afternoon/evening choices.
NEEDED_DAYS = env_int("NEEDED_DAYS", 14)

# --- Hosts (docs/pages-hosts.md) ----------------------------------------------------
# A new host's sessions wait for an organiser's check until one is approved (sessions.vetting); false: at once.
HOST_VETTING = env_bool("HOST_VETTING", True)
# How long the link emailed to a new host to prove their address works.
HOST_EMAIL_VERIFY_DAYS = env_int("HOST_EMAIL_VERIFY_DAYS", 3)

# --- Proof of phone (docs/identity.md) -------------------------------------------
PHONE_CODE_TTL_MINUTES = env_int("PHONE_CODE_TTL_MINUTES", 15)  # how long a texted code works
PHONE_CODE_MAX_ATTEMPTS = env_int("PHONE_CODE_MAX_ATTEMPTS", 5)  # wrong tries before a new code is needed
# A booking request's unproven place (or waitlist place) is held as long as its code works; a new code (resend,
# or asking again) extends the hold, but never past UNPROVEN_HOLD_MAX_MINUTES after it began. A lapsed hold counts
# as free at once (volunteers.holds), and the beat sweep tidies it up.
UNPROVEN_HOLD_MINUTES = env_int("UNPROVEN_HOLD_MINUTES", PHONE_CODE_TTL_MINUTES)
UNPROVEN_HOLD_MAX_MINUTES = env_int("UNPROVEN_HOLD_MAX_MINUTES", 2 * UNPROVEN_HOLD_MINUTES)
# Confirm or release (docs/confirm-or-release.md): where the host or the seat asks for it, a place not confirmed
# (reply OK, or the link) this many hours before the start goes to the waitlist.
CONFIRM_DEADLINE_HOURS = env_int("CONFIRM_DEADLINE_HOURS", 3)
# A place freed this close to the start is offered to the first waiter, held for them PROMOTION_OFFER_MINUTES (never
# past the start), then offered to the next; further from the start the waitlist is promoted at once.
PROMOTION_OFFER_WINDOW_HOURS = env_int("PROMOTION_OFFER_WINDOW_HOURS", 24)
PROMOTION_OFFER_MINUTES = env_int("PROMOTION_OFFER_MINUTES", 60)
# --- Parties (docs/pages-volunteers.md, "Booking for a party") ----------------------
# A booking may be for a party: the booker and up to PARTY_MAX - 1 others, taking that many places, all or nothing.
# The database refuses a party over volunteers.models.PARTY_SIZE_LIMIT whatever this says.
PARTY_MAX = env_int("PARTY_MAX", 6)
if not 1 <= PARTY_MAX <= 20:
    raise ImproperlyConfigured("PARTY_MAX must be between 1 and 20.")

# A device (browser or API client) that proved a phone with a code is remembered this long (volunteers.devices):
# that phone's next booking there needs no second code, and /my/ opens without one. 0: never remember.
DEVICE_REMEMBER_DAYS = env_int("DEVICE_REMEMBER_DAYS", 90)

# --- Metered disclosure of front rooms (docs/privacy.md) ----------------------------
# Distinct front rooms (exact address, host's first name, turf) one phone may be shown in a rolling day and week;
# rooms it was shown before don't count again. Past either, the booking stands but shows only the district until
# a coordinator or the host lets that phone through for that room.
DISCLOSURE_MAX_ROOMS_PER_DAY = env_int("DISCLOSURE_MAX_ROOMS_PER_DAY", 3)
DISCLOSURE_MAX_ROOMS_PER_WEEK = env_int("DISCLOSURE_MAX_ROOMS_PER_WEEK", 6)

# --- Dispatch -----------------------------------------------------------------
OVERFLOW_AUTO = env_bool("OVERFLOW_AUTO", True)  # overflow a full slot after commit when a waitlist forms
OVERFLOW_DELAY_SECONDS = env_int("OVERFLOW_DELAY_SECONDS", 0)  # grace before that overflow (< visibility timeout)
OVERFLOW_MAX_RINGS = env_int("OVERFLOW_MAX_RINGS", 2)  # 1 = adjacent seats only, 2 = their neighbours too
COVERAGE_DEFAULT_DAYS = env_int("COVERAGE_DEFAULT_DAYS", 7)  # coverage without dates: the next this many days
DISPATCH_NEAREST_K = env_int("DISPATCH_NEAREST_K", 10)  # arcs kept per volunteer: K best-valued and K nearest
# Proven places a day a seat needs, by priority band 1..5 (five numbers); a seat's own need_per_day wins.
SEAT_NEED_BY_PRIORITY = env_int_list("SEAT_NEED_BY_PRIORITY", [40, 25, 12, 4, 0], length=5)
# The dashboard's national figures are kept this long (seconds; 0: read afresh every time). docs/pages-coordinators.md
COVERAGE_CACHE_SECONDS = env_int("COVERAGE_CACHE_SECONDS", 15)

# --- After the knock (docs/after-the-session.md) ---------------------------------
# The follow-up (text, and email if chosen) goes this long after a slot ends, to proven bookings; a slot that
# ended longer ago than FOLLOW_UP_WINDOW_HOURS gets none (no flood of old follow-ups when this is switched on).
FOLLOW_UP_AFTER_MINUTES = env_int("FOLLOW_UP_AFTER_MINUTES", 60)
FOLLOW_UP_WINDOW_HOURS = env_int("FOLLOW_UP_WINDOW_HOURS", 36)
# Feedback is taken until this many days after the slot; the host's report can be edited as long after the session.
FEEDBACK_DAYS = env_int("FEEDBACK_DAYS", 14)
HOST_REPORT_EDIT_DAYS = env_int("HOST_REPORT_EDIT_DAYS", 7)
# Self check-in opens this many minutes before a slot starts and closes when it ends.
CHECK_IN_EARLY_MINUTES = env_int("CHECK_IN_EARLY_MINUTES", 30)
# Expected turnout (volunteers.turnout): the prior rate, how many bookings' worth of weight it has, and the floor.
TURNOUT_PRIOR = env_float("TURNOUT_PRIOR", 0.8)
TURNOUT_PRIOR_WEIGHT = env_float("TURNOUT_PRIOR_WEIGHT", 10.0)
TURNOUT_FLOOR = env_float("TURNOUT_FLOOR", 0.5)
TURNOUT_HISTORY_DAYS = env_int("TURNOUT_HISTORY_DAYS", 365)  # the history it learns from
TURNOUT_CACHE_SECONDS = env_int("TURNOUT_CACHE_SECONDS", 300)  # rates kept this long (0: read afresh every time)
# Over-booking by the expected no-show rate: the default for seats without a coordinator's choice, and its cap as
# a share of the slot's capacity.
TURNOUT_OVERBOOK_DEFAULT = env_bool("TURNOUT_OVERBOOK_DEFAULT", False)
TURNOUT_OVERBOOK_MAX_SHARE = env_float("TURNOUT_OVERBOOK_MAX_SHARE", 0.25)

# --- SMS ----------------------------------------------------------------------
SMS_BACKEND = env_str("SMS_BACKEND")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM = env_str("TWILIO_FROM")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_API_URL = env_str("TWILIO_API_URL", "https://api.twilio.com")
TWILIO_TIMEOUT = env_float("TWILIO_TIMEOUT", 10.0)
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Lifts (travel): volunteers with a place offer seats in their car from public pickup points (docs/travel.md).
LIFTS_ENABLED = env_bool("LIFTS_ENABLED", True)
# An assignment run puts a rider who needs a lift in the car of a driver whose home is at most this far from theirs.
LIFT_PICKUP_KM = env_float("LIFT_PICKUP_KM", 5.0)
# The domain in calendar UIDs (booking-<id>@<domain>, docs/calendars.md); empty: PUBLIC_BASE_URL's host. Keep it
# stable once calendars hold events.
FRONTROOM_DOMAIN = env_str("FRONTROOM_DOMAIN", "")
# Private iCal feeds keep ended and cancelled events this many days, so subscribed calendars see cancellations.
CALENDAR_FEED_PAST_DAYS = env_int("CALENDAR_FEED_PAST_DAYS", 30)
# Sessions' link previews (/s/<id>/preview.png, web/preview.py): how long a drawn version stays in the cache, and
# how long browsers and link-preview fetchers may keep one without asking again (an edit gives a new og:image URL).
PREVIEW_CACHE_SECONDS = env_int("PREVIEW_CACHE_SECONDS", 7 * 24 * 3600)
PREVIEW_MAX_AGE = env_int("PREVIEW_MAX_AGE", 3600)
# The previews' font: a file name (looked up in the system's font folders) or a path; missing, Pillow's built-in
# font draws them in plain ASCII letters.
PREVIEW_FONT = env_str("PREVIEW_FONT", "DejaVuSans.ttf")

# --- Logs, metrics, errors (docs/operations.md) ------------------------------------
# Every line carries the request id (core/logs.py); LOG_FORMAT=json writes one JSON object per line.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "core.logs.PlainFormatter",
                  "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
# /metrics (Prometheus) answers a bearer token or these addresses/networks (the scraper's); 404 for anyone else.
# Under gunicorn with several workers also set PROMETHEUS_MULTIPROC_DIR (docs/operations.md).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network") from _exc
# Errors to Sentry only when SENTRY_DSN is set; never personal data (core/sentry.py scrubs phone numbers).
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from core.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"),
                release=env_str("SENTRY_RELEASE"), traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0))
# Take the proxy's X-Request-ID (when it sets one) instead of making one up: on by default behind a trusted proxy.
REQUEST_ID_TRUSTED = env_bool("REQUEST_ID_TRUSTED", bool(TRUSTED_PROXY_IP_HEADER))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


# --- HTTPS and the browser's protections (docs/operations.md) ---------------------------------------------
# Production defaults apply when DEBUG is off and the site's public address is https:// (PUBLIC_BASE_URL, the
# address in every text): then HSTS, the HTTPS redirect and secure cookies are on. The embedded default
# (make run, http://127.0.0.1:8000) and plain-HTTP setups keep them off. Each can be set on its own.
_HTTPS = not DEBUG and PUBLIC_BASE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# Probes inside the network speak plain HTTP to the container: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
# One proxy story: the proxy named by TRUSTED_PROXY_IP_HEADER (the client's address, for the limits) is ours, so
# it also says whether the client spoke HTTPS, in X-Forwarded-Proto, which it must overwrite. Without a trusted
# proxy nothing is believed. SECURE_PROXY_SSL_HEADER names another header, or "off".
_proto_header = env_str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if TRUSTED_PROXY_IP_HEADER else "off")
SECURE_PROXY_SSL_HEADER = (
    None if _proto_header.strip().lower() in ("", "off", "none")
    else ("HTTP_" + _proto_header.strip().upper().replace("-", "_").removeprefix("HTTP_"), "https"))
# The site's own origin is trusted for CSRF (forms posted through the proxy); more may be listed.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS",
                                [PUBLIC_BASE_URL.rstrip("/")] if PUBLIC_BASE_URL.startswith("https://") else [])

# Content-Security-Policy (django-csp 4): the app's own files only; no inline script or style anywhere (the
# coordinators' SVG maps use presentation attributes, not style=). /api/docs/ and /api/redoc/ loosen style-src
# for their generated UI (config/urls.py). CSP_REPORT_URI sends violation reports somewhere.
from csp.constants import NONE, SELF  # noqa: E402 - settings read top to bottom

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"upgrade-insecure-requests": True} if _HTTPS else {}),
        **({"report-uri": env_str("CSP_REPORT_URI")} if env_str("CSP_REPORT_URI") else {}),
    },
}
