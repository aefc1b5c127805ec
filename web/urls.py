from django.urls import include, path

from web.language import language_switch

urlpatterns = [
    path("language/<str:code>/", language_switch, name="language"),
    path("", include("web.feeds")),
    path("", include("web.volunteer.urls")),
    path("host/", include("web.hosts.urls")),
    path("coordinate/", include("web.coordinators.urls")),
]
