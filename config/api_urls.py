from django.urls import include, path

urlpatterns = [
    path("", include("core.urls")),
    path("", include("seats.urls")),
    path("", include("sessions.urls")),
    path("", include("volunteers.urls")),
    path("", include("dispatch.urls")),
    path("", include("dispatch.sms.api_urls")),
]
