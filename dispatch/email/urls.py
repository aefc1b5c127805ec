from django.urls import path

from dispatch.email import views

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="email-unsubscribe"),
]
