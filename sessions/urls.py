from django.urls import path
from rest_framework.routers import SimpleRouter

from sessions.api import MeetingPointViewSet, ReviewViewSet, SessionViewSet, SignupView, SlotViewSet
from sessions.recurrence_api import SessionRepeatView

router = SimpleRouter()
router.register("meeting-points", MeetingPointViewSet, basename="meeting-point")
router.register("sessions", SessionViewSet, basename="session")
router.register("slots", SlotViewSet, basename="slot")
router.register("reviews", ReviewViewSet, basename="review")
urlpatterns = [
    path("auth/signup/", SignupView.as_view(), name="auth-signup"),
    path("sessions/<int:pk>/repeat/", SessionRepeatView.as_view(), name="session-repeat"),
    *router.urls,
]
