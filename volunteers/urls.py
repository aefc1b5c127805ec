from django.urls import path

from volunteers.api import (
    BookingAttendanceView,
    BookingCancelView,
    BookingDetailView,
    SessionRosterView,
    SlotBookingView,
)

urlpatterns = [
    path("slots/<int:slot_id>/bookings/", SlotBookingView.as_view(), name="slot-bookings"),
    path("bookings/<str:token>/", BookingDetailView.as_view(), name="booking-detail"),
    path("bookings/<str:token>/cancel/", BookingCancelView.as_view(), name="booking-cancel"),
    path("sessions/<int:session_id>/bookings/", SessionRosterView.as_view(), name="session-roster"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/attendance/", BookingAttendanceView.as_view(),
         name="booking-attendance"),
]
