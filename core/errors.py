"""Domain errors raised by services; the API exception handler maps each to one JSON shape."""

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

# A part the app depends on is down (PostgreSQL unreachable or restarting, a lost connection, a broker a view
# needed and could not reach): 503 with Retry-After, JSON under /api/ and /twilio/, a plain page elsewhere.
UNAVAILABLE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError, BrokerOperationalError)


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None,
                 field_codes: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}
        # The code of each field's own error when one error names several (the first one's is `code`).
        self.field_codes = field_codes or {}


class InvalidInput(DomainError):
    status_code = 400
    default_code = "invalid"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    default_code = "permission_denied"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class InvalidState(DomainError):
    status_code = 409
    default_code = "invalid_state"


class NotAuthenticated(DomainError):
    status_code = 401
    default_code = "not_authenticated"


class RateLimited(DomainError):
    """Too many attempts of one kind from one client or for one phone: 429 with Retry-After."""

    status_code = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, fields: dict | None = None):
        super().__init__(message, code=code, fields=fields)
        self.retry_after = max(1, int(retry_after))


class PayloadTooLarge(DomainError):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413."""

    status_code = 413
    default_code = "too_large"

    def __init__(self, limit: int | None = None):
        super().__init__(f"The request body is larger than {limit} bytes." if limit else "The request body is too large.")
