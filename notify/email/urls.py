from django.urls import path

from notify.email import views

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="email-unsubscribe"),
]
