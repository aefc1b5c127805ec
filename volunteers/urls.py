from django.urls import path

from volunteers.api import BookingCancelView, BookingDetailView, SlotBookingView

urlpatterns = [
    path("slots/<int:slot_id>/bookings/", SlotBookingView.as_view(), name="slot-bookings"),
    path("bookings/<str:token>/", BookingDetailView.as_view(), name="booking-detail"),
    path("bookings/<str:token>/cancel/", BookingCancelView.as_view(), name="booking-cancel"),
]
