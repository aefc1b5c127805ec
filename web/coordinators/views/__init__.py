"""Coordinators' pages (staff only): coverage dashboard, seat, overflow, assignment runs, SMS log, audit log.

Each view binds a form, calls the same dispatch/seats services the API calls, and renders. Domain errors
from the services land on the form's fields; nothing here decides a business rule.

One module per group of pages (overview, runs, deliveries, records), the names the URLs use offered here.
"""

from web.coordinators.views.common import page_number, pager_urls, query_with, staff_required
from web.coordinators.views.deliveries import (
    EMAIL_PROBLEMS,
    SMS_PAGE_SIZE,
    email_failures,
    sms_log,
    sms_message,
    sms_retry,
)
from web.coordinators.views.overview import COLUMNS, LABEL_MAX, dashboard, seat, targets
from web.coordinators.views.records import (
    AUDIT_PAGE_SIZE,
    HOLDS_PAGE_SIZE,
    audit,
    audit_action,
    held_address_release,
    held_addresses,
)
from web.coordinators.views.runs import RUN_REFRESH_SECONDS, WORKING, overflow_page, run, run_commit, run_progress, runs

__all__ = [
    "AUDIT_PAGE_SIZE",
    "COLUMNS",
    "EMAIL_PROBLEMS",
    "HOLDS_PAGE_SIZE",
    "LABEL_MAX",
    "RUN_REFRESH_SECONDS",
    "SMS_PAGE_SIZE",
    "WORKING",
    "audit",
    "audit_action",
    "dashboard",
    "email_failures",
    "held_address_release",
    "held_addresses",
    "overflow_page",
    "page_number",
    "pager_urls",
    "query_with",
    "run",
    "run_commit",
    "run_progress",
    "runs",
    "seat",
    "sms_log",
    "sms_message",
    "sms_retry",
    "staff_required",
    "targets",
]
