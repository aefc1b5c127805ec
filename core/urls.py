from django.urls import path

from core.api import SignupView, TokenView

urlpatterns = [
    path("auth/signup/", SignupView.as_view(), name="auth-signup"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
]
