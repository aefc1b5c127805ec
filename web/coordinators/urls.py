from django.urls import path, register_converter

from web.coordinators import aftercare, exports, lifts, messages, reviews, sms_reminders, views


class RowId:
    """A row id: digits that fit a bigint (a longer number is a 404, never a database error)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(RowId, "rowid")

app_name = "coordinators"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("seats/<str:ons_code>/", views.seat, name="seat"),
    path("seats/<str:ons_code>/overbook/", aftercare.seat_overbook, name="seat-overbook"),
    path("seats/<str:ons_code>/confirm/", aftercare.seat_confirm, name="seat-confirm"),
    path("after/", aftercare.report, name="after"),
    path("after/report.csv", aftercare.report_csv, name="after-csv"),
    path("live/", aftercare.live, name="live"),
    path("overflow/", views.overflow_page, name="overflow"),
    path("runs/", views.runs, name="runs"),
    path("runs/<rowid:run_id>/", views.run, name="run"),
    path("runs/<rowid:run_id>/progress/", views.run_progress, name="run-progress"),
    path("runs/<rowid:run_id>/commit/", views.run_commit, name="run-commit"),
    path("sms/", views.sms_log, name="sms"),
    path("sms/reminders/", sms_reminders.sms_reminders, name="sms-reminders"),
    path("sms/<rowid:message_id>/", views.sms_message, name="sms-message"),
    path("sms/<rowid:message_id>/retry/", views.sms_retry, name="sms-retry"),
    path("email/", views.email_failures, name="email"),
    path("held-addresses/", views.held_addresses, name="held-addresses"),
    path("held-addresses/<rowid:hold_id>/release/", views.held_address_release, name="held-address-release"),
    path("exports/", exports.exports_page, name="exports"),
    path("exports/bookings.csv", exports.bookings_csv, name="export-bookings"),
    path("exports/volunteers.csv", exports.volunteers_csv, name="export-volunteers"),
    path("exports/coverage.csv", exports.coverage_csv, name="export-coverage"),
    path("exports/sms-failures.csv", exports.sms_failures_csv, name="export-sms-failures"),
    path("reviews/", reviews.reviews, name="reviews"),
    path("reviews/<rowid:session_id>/approve/", reviews.review_approve, name="review-approve"),
    path("reviews/<rowid:session_id>/refuse/", reviews.review_refuse, name="review-refuse"),
    path("hosts/<rowid:host_id>/trust/", reviews.host_trust, name="host-trust"),
    path("targets/", views.targets, name="targets"),
    path("lifts/", lifts.lifts, name="lifts"),
    path("lifts/block/", lifts.lift_block, name="lift-block"),
    path("messages/", messages.broadcast, name="messages"),
    path("exports/consent-ledger.csv", messages.consent_ledger_csv, name="export-consent-ledger"),
    path("audit/", views.audit, name="audit"),
    path("audit/<rowid:action_id>/", views.audit_action, name="audit-action"),
]
