from rest_framework.routers import SimpleRouter

from seats.api import SeatViewSet

router = SimpleRouter()
router.register("seats", SeatViewSet, basename="seat")
urlpatterns = router.urls
