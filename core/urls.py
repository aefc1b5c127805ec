from django.urls import path

from core.api import TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
]
