"""The project's URLs plus three views that stand for the pages, a plain Django view under /api/ and a webhook."""

from django.http import HttpResponse
from django.urls import include, path

from core.ratelimit import limit_ip


@limit_ip("password_reset_ip")
def reset_page(request):
    return HttpResponse("<p>Check your email</p>")


@limit_ip("login_ip")
def plain_api_view(request):
    return HttpResponse("{}", content_type="application/json")


@limit_ip("login_ip")
def webhook(request):
    return HttpResponse("<Response/>", content_type="text/xml")


urlpatterns = [
    path("host/password-reset-test/", reset_page),
    path("api/plain-test/", plain_api_view),
    path("twilio/hook-test/", webhook),
    path("", include("config.urls")),
]
