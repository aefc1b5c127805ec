from rest_framework.routers import SimpleRouter

from sessions.api import MeetingPointViewSet, SessionViewSet, SlotViewSet

router = SimpleRouter()
router.register("meeting-points", MeetingPointViewSet, basename="meeting-point")
router.register("sessions", SessionViewSet, basename="session")
router.register("slots", SlotViewSet, basename="slot")
urlpatterns = router.urls
