from django.urls import path

from notify.messaging.api import SessionMessageView

urlpatterns = [
    path("sessions/<int:session_id>/messages/", SessionMessageView.as_view(), name="session-messages"),
]
