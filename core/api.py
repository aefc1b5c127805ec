"""Host accounts: obtain an API token. Signing up is sessions.api's (a new host has an address to prove)."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import raise_if_locked_out
from core.errors import InvalidInput, NotAuthenticated
from core.serializers import StrictSerializer

User = get_user_model()


class SignupSerializer(StrictSerializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    password = serializers.CharField(write_only=True, min_length=8, max_length=128)
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=60, required=False, allow_blank=True)

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise InvalidInput(gettext("This username is taken."), code="username_taken",
                               fields={"username": [gettext("This username is taken.")]})
        return value

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value.strip()).exists():
            raise InvalidInput(gettext("Another account uses that email address."), code="email_taken",
                               fields={"email": [gettext("Another account uses this address: sign in, or reset "
                                                         "its password.")]})
        return value.strip()

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            validate_password(attrs["password"], candidate)
        except Exception as exc:  # django.core.exceptions.ValidationError
            messages = list(getattr(exc, "messages", [str(exc)]))
            raise InvalidInput(gettext("password: %(messages)s") % {"messages": messages[0]}, code="weak_password", fields={"password": messages}) from exc
        return attrs


class LoginSerializer(StrictSerializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    username = serializers.CharField()
    is_coordinator = serializers.BooleanField()


def token_response(user, status_code=status.HTTP_200_OK) -> Response:
    token, _ = Token.objects.get_or_create(user=user)
    return Response(
        TokenSerializer({"token": token.key, "username": user.username, "is_coordinator": user.is_staff}).data,
        status=status_code,
    )


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    # 401: wrong username or password; 429: too many attempts from this IP, or locked out (core.auth)
    schema_error_statuses = {"POST": ["401", "429"]}

    @extend_schema(request=LoginSerializer, responses={200: TokenSerializer}, summary="Exchange username and password for a token")
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise_if_locked_out(request)
            raise NotAuthenticated(gettext("Wrong username or password."), code="invalid_credentials")
        return token_response(user)
