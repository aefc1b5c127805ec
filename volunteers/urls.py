from django.urls import path

from volunteers.api import (
    BookingApproveView,
    BookingAttendanceView,
    BookingCancelView,
    BookingDetailsView,
    BookingDetailView,
    BookingProveView,
    BookingRefuseView,
    BookingSwapView,
    ChallengeResendView,
    ChallengeVerifyView,
    SessionRosterView,
    SlotBookingView,
)
from volunteers.exports_api import BookingsExportView, VolunteersExportView
from volunteers.my_api import BookingsCreateView, MyBookingsView, MyCodeView, MyForgetView
from volunteers.parties_api import BookingPartyView
from volunteers.privacy_api import DeleteMyDataView, MyDataView

urlpatterns = [
    path("slots/<int:slot_id>/bookings/", SlotBookingView.as_view(), name="slot-bookings"),
    path("bookings/", BookingsCreateView.as_view(), name="bookings-create"),
    path("my/code/", MyCodeView.as_view(), name="my-code"),
    path("my/bookings/", MyBookingsView.as_view(), name="my-bookings"),
    path("my/forget/", MyForgetView.as_view(), name="my-forget"),
    path("bookings/<str:token>/", BookingDetailView.as_view(), name="booking-detail"),
    path("bookings/<str:token>/prove/", BookingProveView.as_view(), name="booking-prove"),
    path("bookings/<str:token>/cancel/", BookingCancelView.as_view(), name="booking-cancel"),
    path("bookings/<str:token>/swap/", BookingSwapView.as_view(), name="booking-swap"),
    path("bookings/<str:token>/party/", BookingPartyView.as_view(), name="booking-party"),
    path("bookings/<str:token>/my-data/", MyDataView.as_view(), name="booking-my-data"),
    path("bookings/<str:token>/delete-my-data/", DeleteMyDataView.as_view(), name="booking-delete-my-data"),
    path("bookings/<str:token>/details/", BookingDetailsView.as_view(), name="booking-details"),
    path("challenges/<str:token>/verify/", ChallengeVerifyView.as_view(), name="challenge-verify"),
    path("challenges/<str:token>/resend/", ChallengeResendView.as_view(), name="challenge-resend"),
    path("sessions/<int:session_id>/bookings/", SessionRosterView.as_view(), name="session-roster"),
    path("exports/bookings/", BookingsExportView.as_view(), name="export-bookings"),
    path("exports/volunteers/", VolunteersExportView.as_view(), name="export-volunteers"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/attendance/", BookingAttendanceView.as_view(),
         name="booking-attendance"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/approve/", BookingApproveView.as_view(),
         name="booking-approve"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/refuse/", BookingRefuseView.as_view(),
         name="booking-refuse"),
]
