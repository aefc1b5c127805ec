import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_signup_returns_a_token_that_authenticates_the_host():
    client = APIClient()
    response = client.post("/api/auth/signup/", {"username": "newhost", "password": "a-long-password-9",
                                                 "email": "new@example.org"}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/meeting-points/").status_code == 200


def test_token_login_returns_the_same_token():
    client = APIClient()
    signup = client.post("/api/auth/signup/", {"username": "host2", "password": "a-long-password-9",
                                               "email": "h2@example.org"}, format="json").json()
    login = client.post("/api/auth/token/", {"username": "host2", "password": "a-long-password-9"}, format="json")
    assert login.status_code == 200
    assert login.json()["token"] == signup["token"]


def test_wrong_password_is_401_with_the_error_shape():
    APIClient().post("/api/auth/signup/", {"username": "host3", "password": "a-long-password-9",
                                           "email": "h3@example.org"}, format="json")
    response = APIClient().post("/api/auth/token/", {"username": "host3", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "xhost1", "password": "a-long-password-9"}, "email"),
        ({"username": "xhost2", "password": "short", "email": "a@example.org"}, "password"),
        ({"username": "xhost3", "password": "password", "email": "a@example.org"}, "password"),
        ({"username": "has space", "password": "a-long-password-9", "email": "a@example.org"}, "username"),
    ],
)
def test_bad_signup_names_the_field(body, field):
    response = APIClient().post("/api/auth/signup/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_duplicate_username_is_refused():
    body = {"username": "dup", "password": "a-long-password-9", "email": "d@example.org"}
    assert APIClient().post("/api/auth/signup/", body, format="json").status_code == 201
    response = APIClient().post("/api/auth/signup/", {**body, "username": "DUP"}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["error"]["fields"]
