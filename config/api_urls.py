from django.urls import include, path

from config.api_index import ApiIndexView

urlpatterns = [
    path("", ApiIndexView.as_view(), name="api-index"),
    path("", include("core.urls")),
    path("", include("seats.urls")),
    path("", include("sessions.urls")),
    path("", include("volunteers.urls")),
    path("", include("dispatch.urls")),
    path("", include("notify.sms.api_urls")),
    path("", include("notify.messaging.urls")),
    path("", include("notify.webhooks.urls")),
]
