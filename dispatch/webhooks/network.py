"""Where a webhook may go: https (unless allowed), public addresses only (unless a network is allowed), checked
when the endpoint is registered and again on every connection, so a name that later resolves elsewhere (DNS
rebinding) cannot point a delivery at the machine's own network (SSRF)."""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from dispatch.webhooks.conf import webhook_setting


class AddressNotAllowed(Exception):
    """The URL names, or resolves to, an address deliveries may not go to. Not an OSError, so urllib3 does not
    retry it as a connection error."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in webhook_setting("WEBHOOK_ALLOWED_NETWORKS")):
        return True
    # is_global is False for private, loopback, link-local (cloud metadata), shared (CGNAT), reserved and
    # unspecified addresses; multicast is no place for a POST either.
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (a function of its own so tests can stand in for DNS)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def url_problem(url: str, *, resolve_host: bool = True) -> str:
    """Why deliveries may not go to `url` ("" if they may)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("https", "http"):
        return "The URL must start with https://."
    if parts.scheme == "http" and not webhook_setting("WEBHOOK_ALLOW_HTTP"):
        return "The URL must use https:// (deliveries carry personal data)."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "Credentials in the URL are not supported: the signature proves the sender."
    if parts.fragment:
        return "The URL cannot have a #fragment."
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(parts.hostname))]
    except ValueError:
        if not resolve_host:
            return ""
        try:
            addresses = resolve(parts.hostname, port)
        except (OSError, UnicodeError):
            return f"The host {parts.hostname} cannot be resolved."
    refused = [address for address in addresses if not address_allowed(address)]
    if refused:
        return (f"The host resolves to {refused[0]}, a private, loopback or link-local address: "
                "deliveries only go to public addresses (see WEBHOOK_ALLOWED_NETWORKS).")
    return ""


def _checked(sock):
    peer = sock.getpeername()[0]
    if not address_allowed(peer):
        sock.close()
        raise AddressNotAllowed(f"Connected to {peer}, which deliveries may not reach.")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self):
        return _checked(super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        return _checked(super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Checks the address each connection actually reached, after DNS, before a byte is sent."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def session_new() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the check must see the receiver's own address
    adapter = GuardedAdapter(max_retries=0, pool_connections=16, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
