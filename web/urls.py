from django.urls import include, path

urlpatterns = [
    path("", include("web.feeds")),
    path("", include("web.volunteer.urls")),
    path("host/", include("web.hosts.urls")),
    path("coordinate/", include("web.coordinators.urls")),
]
