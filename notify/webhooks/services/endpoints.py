"""Coordinators' webhook endpoints: registered, changed, re-keyed, disabled and enabled again."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, NotFound
from notify.webhooks.models import WebhookDelivery, WebhookEndpoint, all_event_types
from notify.webhooks.network import url_problem
from notify.webhooks.signing import secret_generate, secret_key

KNOWN_TYPES = frozenset(all_event_types())  # the booking events' types and booking.proven
MAX_PREVIOUS_SECRET_HOURS = 7 * 24


def _url_checked(url: str) -> str:
    url = (url or "").strip()
    problem = url_problem(url) if url else "This field is required."
    if problem:
        raise InvalidInput(gettext("url: %(problem)s") % {"problem": problem}, code="invalid_url", fields={"url": [problem]})
    return url


def _types_checked(event_types) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise InvalidInput(gettext("event_types: choose at least one event type."), fields={"event_types": [
            gettext("Choose at least one event type.")]})
    unknown = sorted({str(name) for name in event_types} - KNOWN_TYPES)
    if unknown:
        raise InvalidInput(gettext("event_types: unknown type %(unknown)s.") % {"unknown": unknown[0]}, fields={"event_types": [
            gettext("Unknown event type: %(names)s.") % {"names": ', '.join(unknown)}]})
    return [name for name in all_event_types() if name in set(event_types)]  # canonical order, no repeats


def _secret_checked(secret: str | None) -> str:
    if not secret:
        return secret_generate()
    try:
        secret_key(secret)
    except ValueError as exc:
        raise InvalidInput(gettext("secret: %(exc)s") % {"exc": exc}, fields={"secret": [str(exc)]}) from exc
    return secret


def _locked(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(gettext("No such webhook endpoint."))
    return endpoint


@transaction.atomic
def endpoint_create(*, user, url: str, event_types=None, description: str = "", include_personal_data: bool = True,
                    enabled: bool = True, secret: str | None = None) -> WebhookEndpoint:
    """Register an endpoint (the URL checked: https, public addresses); the secret is generated unless given.
    The caller shows `endpoint.secret` once; it is never listed again."""
    endpoint = WebhookEndpoint(
        url=_url_checked(url), description=(description or "").strip()[:200],
        event_types=_types_checked(all_event_types() if event_types is None else event_types),
        include_personal_data=include_personal_data, enabled=enabled, secret=_secret_checked(secret),
        disabled_reason="" if enabled else WebhookEndpoint.DisabledReason.MANUAL,
        disabled_at=None if enabled else timezone.now(), created_by=user if getattr(user, "pk", None) else None,
    )
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint_id: int, **changes) -> WebhookEndpoint:
    """Change an endpoint's URL, description, event types or personal-data flag; `enabled` enables or disables it
    as endpoint_enable and endpoint_disable do."""
    endpoint = _locked(endpoint_id)
    fields = ["updated_at"]
    if "url" in changes:
        endpoint.url = _url_checked(changes["url"])
        fields.append("url")
    if "event_types" in changes:
        endpoint.event_types = _types_checked(changes["event_types"])
        fields.append("event_types")
    for name in ("description", "include_personal_data"):
        if name in changes:
            setattr(endpoint, name, changes[name])
            fields.append(name)
    endpoint.save(update_fields=fields)
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        return endpoint_enable(endpoint_id=endpoint.pk) if changes["enabled"] else endpoint_disable(
            endpoint_id=endpoint.pk)
    return endpoint


@transaction.atomic
def endpoint_enable(*, endpoint_id: int) -> WebhookEndpoint:
    """Enable an endpoint again (after its receiver was fixed): its failure count starts over, and the deliveries
    that waited while it was disabled go now, oldest first. Idempotent."""
    from notify.webhooks.services.outbox import deliveries_enqueue_batches

    endpoint = _locked(endpoint_id)
    if endpoint.enabled:
        return endpoint
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at, endpoint.consecutive_failures = True, "", None, 0
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "consecutive_failures", "updated_at"])
    waiting = WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING)
    waiting.update(next_attempt_at=None, updated_at=timezone.now())
    ids = list(waiting.order_by("id").values_list("id", flat=True))
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue_batches([(pk, endpoint.pk) for pk in ids]))
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint_id: int) -> WebhookEndpoint:
    """Stop deliveries to an endpoint: new events get no delivery for it, and those already waiting wait until
    it is enabled again. Idempotent."""
    endpoint = _locked(endpoint_id)
    if endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason = False, WebhookEndpoint.DisabledReason.MANUAL
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint_id: int, secret: str | None = None,
                           previous_valid_hours: float = 24) -> WebhookEndpoint:
    """Give an endpoint a new secret (generated unless given). For `previous_valid_hours` the old one signs too,
    as a second signature, so the receiver can switch without losing a delivery; 0 drops it at once (a leaked
    secret). The caller shows the new secret once."""
    if not 0 <= previous_valid_hours <= MAX_PREVIOUS_SECRET_HOURS:
        raise InvalidInput(gettext("previous_valid_hours: between 0 and %(max_previous_secret_hours)s.") % {"max_previous_secret_hours": MAX_PREVIOUS_SECRET_HOURS},
                           fields={"previous_valid_hours": [gettext("Between 0 and %(max_previous_secret_hours)s.") % {"max_previous_secret_hours": MAX_PREVIOUS_SECRET_HOURS}]})
    endpoint = _locked(endpoint_id)
    now = timezone.now()
    new = _secret_checked(secret)
    if previous_valid_hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + timedelta(hours=previous_valid_hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_until = "", None
    endpoint.secret, endpoint.secret_rotated_at = new, now
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "secret_rotated_at",
                                 "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log."""
    _locked(endpoint_id).delete()
