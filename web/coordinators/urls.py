app_name = "coordinators"
urlpatterns: list = []
