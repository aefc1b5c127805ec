"""The HTTP client under the Twilio SDK: urllib3 with one keep-alive pool, no retries, a timeout on every call.

The SDK's default client goes through requests, which for every call merges cookies, hooks and
the proxy and CA settings of the whole environment and builds two response objects. A send is a
single form POST to one host, so this client reads the environment once, keeps the connection
open, and hands the SDK its own Response type. It never retries by itself: a POST that timed out
may have reached Twilio, and only the outbox (which looks the message up first) may send it again.
"""

import json
import logging
import os
from base64 import b64encode
from urllib.parse import urlencode, urlsplit

import urllib3
from twilio.http import HttpClient
from twilio.http.response import Response
from urllib3.exceptions import HTTPError as TransportError  # noqa: F401 - re-exported for the backend

TWILIO_DEFAULT_API_URL = "https://api.twilio.com"

_logger = logging.getLogger("twilio.http_client")


def _proxy_for(url: str) -> str | None:
    """The proxy the environment configures for `url` (HTTPS_PROXY, NO_PROXY, ...), read once."""
    import urllib.request

    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _ca_bundle() -> str:
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        return bundle
    import certifi

    return certifi.where()


class PooledHttpClient(HttpClient):
    """Sends the SDK's requests to `api_url` (Twilio, a contract mock in tests, a proxy in staging)."""

    def __init__(self, *, api_url: str = TWILIO_DEFAULT_API_URL, timeout: float, logger: logging.Logger = _logger):
        super().__init__(logger, False, timeout)
        self.api_url = api_url.rstrip("/")
        options = {"retries": False, "timeout": urllib3.Timeout(total=timeout), "maxsize": 4, "block": False}
        if self.api_url.startswith("https:"):
            options.update(cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle())
        proxy = _proxy_for(self.api_url)
        self.pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        self._authorization: dict[tuple[str, str], str] = {}

    def _basic(self, auth: tuple[str, str]) -> str:
        header = self._authorization.get(auth)
        if header is None:
            header = self._authorization[auth] = "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return header

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        if url.startswith(TWILIO_DEFAULT_API_URL):
            url = self.api_url + url[len(TWILIO_DEFAULT_API_URL):]
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = self._basic(tuple(auth))
        body = None
        if data:
            if headers.get("Content-Type", "").endswith("json"):
                body = json.dumps(data).encode()
            else:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                body = urlencode(data, doseq=True).encode()
        if self.logger.isEnabledFor(logging.DEBUG):
            self.log_request({"method": method, "url": url, "params": params, "headers": headers})
        answer = self.pool.request(method.upper(), url, body=body, headers=headers, retries=False, redirect=allow_redirects,
                                   timeout=urllib3.Timeout(total=timeout or self.timeout))
        response = Response(answer.status, answer.data.decode("utf-8"), answer.headers)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("Response Status Code: %s", answer.status)
        return response
