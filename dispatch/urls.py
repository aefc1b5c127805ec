from django.urls import path

from dispatch.api import (
    CoverageView,
    OverflowView,
    RedirectDeclineView,
    RunCommitView,
    RunDetailView,
    RunListView,
    VolunteerRegisterView,
    VolunteerSignupView,
    VolunteerStopView,
    VolunteerSuggestionsView,
)
from dispatch.exports_api import CoverageExportView, SmsFailuresExportView

urlpatterns = [
    path("volunteers/", VolunteerRegisterView.as_view(), name="volunteer-register"),
    path("volunteers/<str:token>/", VolunteerSignupView.as_view(), name="volunteer-signup"),
    path("volunteers/<str:token>/stop/", VolunteerStopView.as_view(), name="volunteer-signup-stop"),
    path("volunteers/<str:token>/suggestions/", VolunteerSuggestionsView.as_view(), name="volunteer-suggestions"),
    path("dispatch/runs/", RunListView.as_view(), name="dispatch-runs"),
    path("dispatch/runs/<int:run_id>/", RunDetailView.as_view(), name="dispatch-run"),
    path("dispatch/runs/<int:run_id>/commit/", RunCommitView.as_view(), name="dispatch-run-commit"),
    path("dispatch/overflow/", OverflowView.as_view(), name="dispatch-overflow"),
    path("dispatch/coverage/", CoverageView.as_view(), name="dispatch-coverage"),
    path("exports/coverage/", CoverageExportView.as_view(), name="export-coverage"),
    path("exports/sms-failures/", SmsFailuresExportView.as_view(), name="export-sms-failures"),
    path("bookings/<str:token>/decline-redirect/", RedirectDeclineView.as_view(), name="booking-decline-redirect"),
]
