from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.views import health, healthz, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("config.api_urls")),
    path("twilio/", include("dispatch.sms.urls")),
    path("", include("web.urls")),
]

handler400 = "web.errors.handler400"
handler403 = "web.errors.handler403"
handler404 = "web.errors.handler404"
handler500 = "web.errors.handler500"
