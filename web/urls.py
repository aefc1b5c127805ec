from django.urls import include, path

from web.hosts.aftercare import report_by_link
from web.language import language_switch

urlpatterns = [
    path("language/<str:code>/", language_switch, name="language"),
    path("", include("web.feeds")),
    path("", include("web.volunteer.urls")),
    path("host/", include("web.hosts.urls")),
    # A session's report by the private link emailed to its host (web.hosts.aftercare): no sign-in.
    path("r/<str:token>/", report_by_link, name="host_report_link"),
    path("coordinate/", include("web.coordinators.urls")),
]
