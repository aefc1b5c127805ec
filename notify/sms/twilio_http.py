"""The HTTP client under the Twilio SDK: one keep-alive connection per thread and host, no retries, a
timeout on every call.

The SDK's default client goes through requests, which for every call merges cookies, hooks and the
proxy and CA settings of the whole environment and builds two response objects; urllib3 alone still
doubles what the standard library's http.client costs per request. A send is a single form POST to
one host from a thread that owns its connection, so this client reads the environment once, keeps
http.client's connection open, and hands the SDK its own Response type. It never retries by itself:
a POST that timed out may have reached Twilio, and only the outbox (which looks the message up
first) may send it again.
"""

import http.client
import json
import logging
import os
import select
import ssl
import threading
from base64 import b64encode
from urllib.parse import unquote, urlencode, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

TWILIO_DEFAULT_API_URL = "https://api.twilio.com"

_logger = logging.getLogger("twilio.http_client")


class TransportError(Exception):
    """The request failed below HTTP (refused, reset, timed out, bad TLS): it may or may not have reached Twilio."""


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


def _proxy_authorization(proxy_url: str | None) -> dict[str, str]:
    """Proxy-Authorization for a proxy URL that carries a user (http://user:password@proxy:3128)."""
    proxy = urlsplit(proxy_url or "")
    if not proxy.username:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + b64encode(credentials.encode()).decode()}


def _closed_by_peer(sock) -> bool:
    """An idle keep-alive socket that is readable has been closed by the server (or is out of step): don't reuse it."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class KeepAliveHttpClient(HttpClient):
    """Sends the SDK's requests to `api_url` (Twilio, a contract mock in tests, a proxy in staging)."""

    def __init__(self, *, api_url: str = TWILIO_DEFAULT_API_URL, timeout: float, logger: logging.Logger = _logger):
        super().__init__(logger, False, timeout)
        self.api_url = api_url.rstrip("/")
        self.proxy = _proxy_for(self.api_url)
        self._proxy_headers = _proxy_authorization(self.proxy)
        self.ca_bundle = _ca_bundle() if self.api_url.startswith("https:") else None
        self._ssl_context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        self._authorization: dict[tuple[str, str], str] = {}
        self._local = threading.local()

    def _basic(self, auth: tuple[str, str]) -> str:
        header = self._authorization.get(auth)
        if header is None:
            header = self._authorization[auth] = "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return header

    def connection_new(self, scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
        """A connection to host:port, through the environment's proxy if it names one (a CONNECT tunnel for https)."""
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context(cafile=_ca_bundle())
            if self.proxy:
                proxy = urlsplit(self.proxy)
                connection = http.client.HTTPSConnection(proxy.hostname, proxy.port, timeout=timeout, context=context)
                connection.set_tunnel(host, port, headers=self._proxy_headers)
                return connection
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        if self.proxy:
            proxy = urlsplit(self.proxy)
            return http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _connections(self) -> dict:
        state = self._local
        # A forked child (a prefork worker) must not write to its parent's sockets: it opens its own.
        if getattr(state, "pid", None) != os.getpid():
            state.pid, state.connections = os.getpid(), {}
        return state.connections

    def _connection(self, scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
        connections = self._connections()
        key = (scheme, host, port)
        connection = connections.get(key)
        if connection is not None and connection.sock is not None and _closed_by_peer(connection.sock):
            connection.close()
        if connection is None:
            connection = connections[key] = self.connection_new(scheme, host, port, timeout)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _forget(self, scheme: str, host: str, port: int | None) -> None:
        connection = self._connections().pop((scheme, host, port), None)
        if connection is not None:
            connection.close()

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        if url.startswith(TWILIO_DEFAULT_API_URL):
            url = self.api_url + url[len(TWILIO_DEFAULT_API_URL):]
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        headers = dict(headers or {})
        if self.proxy and url.startswith("http:"):
            headers.update(self._proxy_headers)
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
        parts = urlsplit(url)
        # Through a plain-HTTP proxy the request line carries the whole URL; otherwise the path.
        target = url if (self.proxy and parts.scheme == "http") else (parts.path or "/") + (
            "?" + parts.query if parts.query else "")
        connection = self._connection(parts.scheme, parts.hostname, parts.port, timeout or self.timeout)
        try:
            connection.request(method.upper(), target, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8")
        except (OSError, http.client.HTTPException) as exc:
            self._forget(parts.scheme, parts.hostname, parts.port)
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if answer.will_close:
            self._forget(parts.scheme, parts.hostname, parts.port)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("Response Status Code: %s", answer.status)
        return Response(answer.status, text, answer.headers)
