from django.urls import path
from rest_framework.routers import SimpleRouter

from sessions.api import MeetingPointViewSet, ReviewViewSet, SessionViewSet, SignupView, SlotViewSet

router = SimpleRouter()
router.register("meeting-points", MeetingPointViewSet, basename="meeting-point")
router.register("sessions", SessionViewSet, basename="session")
router.register("slots", SlotViewSet, basename="slot")
router.register("reviews", ReviewViewSet, basename="review")
urlpatterns = [
    path("auth/signup/", SignupView.as_view(), name="auth-signup"),
    *router.urls,
]
