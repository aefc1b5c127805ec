"""Host accounts beyond Django's user: signing up, and proving the email address before anything else is sent to it.

A new host is emailed a signed link that expires (HOST_EMAIL_VERIFY_DAYS); following it records the address as
proven (HostStanding.email_verified). Every other email to a host (booking notices, digests, password resets)
goes only to a proven address (`host_email_verified`), so a stranger whose address an attacker signs up with gets
one email, with no words of the attacker's in it, and then nothing. A changed address is unproven until proved.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, InvalidState, NotFound
from core.languages import language_override, language_supported
from core.ratelimit import rate_limit
from sessions.models import HostStanding

_SALT = "frontroom.hosts.email-verify"


def email_taken_message() -> str:
    return gettext("That email address already has an account: sign in, or reset your password if you have "
                   "forgotten it.")


def host_email_taken(email: str, *, exclude_id: int | None = None) -> bool:
    """Whether another account already has this address (whatever its case)."""
    query = get_user_model().objects.filter(email__iexact=email.strip())
    return query.exclude(pk=exclude_id).exists() if exclude_id else query.exists()


def host_email_check(email: str, *, field: str = "email", exclude_id: int | None = None) -> str:
    """The address, stripped; InvalidInput naming `field` if it is not an address or another account has it."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(gettext("That is not an email address."), code="invalid_email",
                           fields={field: [gettext("Enter an address like name@example.org.")]}) from None
    if host_email_taken(email, exclude_id=exclude_id):
        # On sign-up, where to go instead; on a change of address, only that it is taken.
        message = email_taken_message() if exclude_id is None else gettext("Another account has this address.")
        raise InvalidInput(message, code="email_taken", fields={field: [message]})
    return email


# Django's password validators, said as a person would (by the validator's error code); an unknown code keeps
# Django's own words.
def _password_messages() -> dict[str, str]:
    return {
        "password_too_short": gettext("Use at least 8 characters: a few words together are long and easy to "
                                      "remember."),
        "password_too_common": gettext("So many people use this password that it is among the first tried: choose "
                                       "another."),
        "password_entirely_numeric": gettext("Add some letters: a password of digits only is quick to guess."),
        "password_too_similar": gettext("Too close to your name or email address: choose something else."),
    }


def host_password_problems(password: str, user) -> list[str]:
    """What is wrong with this password for this account, in plain words (empty: nothing)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        said = _password_messages()
        return list(dict.fromkeys(said.get(error.code, " ".join(error.messages)) for error in exc.error_list))
    return []


def host_username_for(email: str) -> str:
    """A username for an account that signs in by email: the address, lowercased, if no account has it as its
    username and it fits; otherwise the address's first part with a random tail. Nobody types it."""
    User = get_user_model()
    limit = User._meta.get_field(User.USERNAME_FIELD).max_length
    candidate = email.strip().lower()
    if len(candidate) <= limit and not User.objects.filter(username__iexact=candidate).exists():
        return candidate
    while True:
        candidate = f"{candidate.split('@')[0][:limit - 13]}.{secrets.token_hex(6)}"
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate


@transaction.atomic
def host_signup(*, email: str, password: str, first_name: str = "", username: str | None = None):
    """A new host account, its address not yet proven and its sessions vetted; the verification email is sent after
    commit. The host signs in with the email address (core.auth.EmailBackend); without `username` (the API's) one is
    made from it. InvalidInput naming the field for a taken username or email, or a weak password."""
    User = get_user_model()
    email = host_email_check(email)
    if username is None:
        username = host_username_for(email)
    elif User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(gettext("That username is taken."), code="username_taken",
                           fields={"username": [gettext("Someone already has this username: choose another.")]})
    problems = host_password_problems(password, User(username=username, email=email, first_name=first_name))
    if problems:
        raise InvalidInput(gettext("Choose a stronger password."), code="weak_password",
                           fields={"password": problems})
    user = User.objects.create_user(username=username, email=email, password=password, first_name=first_name)
    HostStanding.objects.create(host=user)
    _verification_enqueue(user)
    return user


def host_language(*, host_id: int) -> str:
    """The language a host reads their emails and texts in (HostStanding.language; no row: the default)."""
    stored = HostStanding.objects.filter(host_id=host_id).values_list("language", flat=True).first()
    return language_supported(stored)


def host_language_set(*, host, language: str) -> None:
    """Remember the language a signed-in host chose with the language switch (idempotent)."""
    HostStanding.objects.update_or_create(host=host, defaults={"language": language_supported(language)})


def host_standing(*, host) -> HostStanding:
    """The host's standing; a host without a row has proven nothing and is not trusted."""
    return HostStanding.objects.filter(host_id=host.pk).first() or HostStanding(host_id=host.pk)


def host_email_verified(*, host) -> bool:
    """Whether the host's current address is the one they proved."""
    if not host.email:
        return False
    proven = HostStanding.objects.filter(host_id=host.pk).values_list("email_verified", flat=True).first()
    return bool(proven) and proven.lower() == host.email.lower()


def host_ids_email_verified(host_ids) -> set[int]:
    """Of these hosts, those whose current address is proven (one query)."""
    rows = get_user_model().objects.filter(pk__in=list(host_ids)).exclude(email="").values_list(
        "pk", "email", "host_standing__email_verified")
    return {pk for pk, email, proven in rows if proven and proven.lower() == email.lower()}


def host_email_verify_token(*, host) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"u": host.pk, "e": host.email.lower()})


def host_email_verify_url(*, host) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("hosts:email_verify",
                                                          kwargs={"token": host_email_verify_token(host=host)})


@transaction.atomic
def host_email_verify(*, token: str):
    """Prove the address the link was sent to; the host. Idempotent. InvalidState (link_expired) for an old link,
    NotFound for a forged one or one sent to an address the account no longer has."""
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        data = signer.unsign_object(token, max_age=settings.HOST_EMAIL_VERIFY_DAYS * 86400)
    except signing.SignatureExpired:
        raise InvalidState(gettext("This link has expired. Sign in and ask for a new one."),
                           code="link_expired") from None
    except signing.BadSignature:
        raise NotFound(gettext("This link is not right. Sign in and ask for a new one."), code="not_found") from None
    host = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if host is None or not host.email or host.email.lower() != data.get("e"):
        raise NotFound(gettext("This link is for an address the account no longer has. Sign in and ask for a new "
                               "one."), code="not_found")
    standing, _ = HostStanding.objects.select_for_update().get_or_create(host=host)
    if standing.email_verified.lower() != host.email.lower():
        standing.email_verified, standing.email_verified_at = host.email, timezone.now()
        standing.save(update_fields=["email_verified", "email_verified_at"])
    return host


def host_email_verification_resend(*, host) -> None:
    """Email the host a new link (rate-limited per account: RateLimited). InvalidState if already proven."""
    if host_email_verified(host=host):
        raise InvalidState(gettext("Your email address is already confirmed."), code="already_verified")
    if not host.email:
        raise InvalidInput(gettext("Give an email address first."), fields={"email": [gettext("Required.")]})
    rate_limit(scope="host_verify_email", key=str(host.pk),
               message=gettext("We have sent several links already. Check your spam folder, or try again later."))
    _verification_enqueue(host)


def host_email_change(*, host, email: str) -> str:
    """Give the host a new address: checked (InvalidInput naming `email` if it is not one or another account has
    it), unproven until they follow the link emailed to it after commit (rate-limited per account, as resends are:
    RateLimited). The caller saves it. Returns the address; the same address again changes and sends nothing."""
    if email.lower() == (host.email or "").lower():
        return email
    email = host_email_check(email, exclude_id=host.pk)
    if not _proven_address(host_id=host.pk, email=email):
        rate_limit(scope="host_verify_email", key=str(host.pk), fields={"email": [gettext("Try again later.")]},
                   message=gettext("We have sent several links already. Check your spam folder, or try again later."))
        _verification_enqueue(host)
    return email


def _proven_address(*, host_id: int, email: str) -> bool:
    proven = HostStanding.objects.filter(host_id=host_id).values_list("email_verified", flat=True).first()
    return bool(proven) and proven.lower() == email.lower()


def _verification_enqueue(host) -> None:
    from sessions.tasks import host_verification_email_send

    transaction.on_commit(lambda: host_verification_email_send.delay(host.pk))


def host_verification_email_send(*, host_id: int) -> bool:
    """Send the link to the host's current address, unless it is proven already. Its words are ours alone (no
    username or name the account chose): the address may be a stranger's."""
    host = get_user_model().objects.filter(pk=host_id, is_active=True).exclude(email="").first()
    if host is None or host_email_verified(host=host):
        return False
    with language_override(host_language(host_id=host.pk)):
        _verification_email_send(host)
    return True


def _verification_email_send(host) -> None:
    subject = gettext("Confirm your email address for %(site)s") % {"site": settings.SITE_NAME}
    body = gettext(
        "Someone signed up to host canvass sessions on %(site)s with this email address.\n\n"
        "If it was you, confirm the address by opening this link within %(days)s days:\n%(url)s\n\n"
        "If it was not you, ignore this email: we will not write to this address again unless it is confirmed."
    ) % {"site": settings.SITE_NAME, "days": settings.HOST_EMAIL_VERIFY_DAYS,
         "url": host_email_verify_url(host=host)}
    send_mail(subject, body, None, [host.email])
