"""Turns core.errors.RateLimited raised by a page view, a plain Django view or an authentication backend into a 429.

DRF views answer RateLimited themselves (core.api_errors); this catches the rest: pages get the friendly error
page, /api/ and /twilio/ the JSON error body, both with Retry-After.
"""

from core.errors import RateLimited
from web.errors import rate_limited


class RateLimitedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return rate_limited(request, exception)
        return None
