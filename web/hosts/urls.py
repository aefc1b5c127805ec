from django.urls import path

from web.hosts import reviews, views

app_name = "hosts"
urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("email/confirm/<str:token>/", views.email_verify, name="email_verify"),
    path("email/confirm-again/", views.email_verify_resend, name="email_verify_resend"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("feed/", views.calendar_feed, name="calendar_feed"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/code/", views.notifications_code, name="notifications_code"),
    path("notifications/code/new/", views.notifications_code_new, name="notifications_code_new"),
    path("reviews/", reviews.reviews, name="reviews"),
    path("reviews/<int:session_id>/approve/", reviews.review_approve, name="review_approve"),
    path("reviews/<int:session_id>/refuse/", reviews.review_refuse, name="review_refuse"),
    path("rooms/new/", views.room_new, name="room_new"),
    path("rooms/<int:room_id>/edit/", views.room_edit, name="room_edit"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/roster.csv", views.roster_csv, name="roster_csv"),
    path("sessions/<int:session_id>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:session_id>/copy/", views.session_copy, name="session_copy"),
    path("sessions/<int:session_id>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<int:session_id>/attendance/", views.attendance, name="attendance"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/approve/", views.booking_approve_view,
         name="booking_approve"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/refuse/", views.booking_refuse_view,
         name="booking_refuse"),
    path("sessions/<int:session_id>/bookings/<int:booking_id>/address/", views.booking_address_release,
         name="booking_address_release"),
]
