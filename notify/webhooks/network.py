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

from notify.webhooks.conf import webhook_setting


class AddressNotAllowed(Exception):
    """The URL names, or resolves to, an address deliveries may not go to. Not an OSError, so urllib3 does not
    retry it as a connection error."""


# IPv6 forms that carry an IPv4 address the packet ends up at (a NAT64 gateway or a 6to4 relay translates it):
# judged by that IPv4 address, so 64:ff9b::a00:1 is 10.0.0.1. Python's is_global calls most of them public.
# RFC 6052's NAT64 well-known prefix and SIIT's IPv4-translated addresses: the IPv4 address is the last 32 bits.
_LAST_32_BITS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::ffff:0:0:0/96"))
# Never a webhook receiver's public address, whatever IPv4 address (if any) they embed: local-use NAT64 (RFC 8215,
# the IPv4 address sits where the operator's prefix length puts it), Teredo (2001::/32, its client address is
# obfuscated and its server an arbitrary relay), site-local (fec0::/10, deprecated but still routed by some
# stacks), and IPv4-compatible ::a.b.c.d (deprecated; some stacks send it as IPv4).
_REFUSED_V6 = tuple(ipaddress.ip_network(net) for net in ("64:ff9b:1::/48", "2001::/32", "fec0::/10", "::/96"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48 is AA.BB.CC.DD's 6to4 network
        return ip.sixtofour
    if any(ip in network for network in _LAST_32_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in network for network in webhook_setting("WEBHOOK_ALLOWED_NETWORKS")):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_allowed(str(embedded))
        if any(ip in network for network in _REFUSED_V6):
            return False
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
