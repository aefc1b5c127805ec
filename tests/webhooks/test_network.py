"""Where deliveries may go: https, public addresses; names resolving to private ones refused (SSRF)."""

import pytest

from notify.webhooks import network
from notify.webhooks.network import address_allowed, url_problem


@pytest.fixture
def dns(monkeypatch):
    names = {"crm.example.org": ["93.184.216.34"], "sneaky.example.org": ["93.184.216.35", "10.1.2.3"],
             "metadata.example.org": ["169.254.169.254"], "v6.example.org": ["2606:4700:4700::1111", "::1"]}

    def resolve(host, port):
        if host not in names:
            raise OSError("no such host")
        return names[host]

    monkeypatch.setattr(network, "resolve", resolve)
    return names


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1"])
def test_private_loopback_link_local_and_mapped_addresses_are_refused(settings, address):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert not address_allowed(address)


@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of 10.0.0.1, 127.0.0.1, the metadata address
    "64:ff9b:1::a00:1", "64:ff9b:1:ffff::808:808",  # local-use NAT64: whatever it embeds
    "2002:a00:1::1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",  # 6to4 of private IPv4 networks
    "::ffff:169.254.169.254", "::ffff:0:7f00:1",  # IPv4-mapped (and its translated form, ::ffff:0:0:0/96)
    "::10.0.0.1", "::127.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated): never a receiver
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1",  # Teredo
    "fec0::1", "feff::1",  # site-local (deprecated)
])
def test_ipv6_forms_of_private_ipv4_and_tunnel_addresses_are_refused(settings, address):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert not address_allowed(address)


def test_ipv6_forms_of_a_public_ipv4_address_are_judged_by_it(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert address_allowed("64:ff9b::808:808") and address_allowed("2002:808:808::1")
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert address_allowed("64:ff9b::a00:1")  # an allowed private network is allowed whichever way it is written


def test_public_addresses_are_allowed_and_allowed_networks_open_a_private_one(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert address_allowed("8.8.8.8") and address_allowed("2606:4700:4700::1111")
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32", "10.0.0.0/8"]
    assert address_allowed("127.0.0.1") and address_allowed("10.20.30.40") and not address_allowed("127.0.0.2")


def test_https_is_required_unless_http_is_allowed_or_debug(settings, dns):
    settings.WEBHOOK_ALLOW_HTTP, settings.DEBUG = False, False
    assert url_problem("https://crm.example.org/hooks") == ""
    assert "https" in url_problem("http://crm.example.org/hooks")
    assert "https" in url_problem("ftp://crm.example.org/hooks")
    settings.DEBUG = True
    assert url_problem("http://crm.example.org/hooks") == ""
    settings.DEBUG, settings.WEBHOOK_ALLOW_HTTP = False, True
    assert url_problem("http://crm.example.org/hooks") == ""


@pytest.mark.parametrize(("url", "says"), [
    ("https://sneaky.example.org/", "10.1.2.3"),  # one private address among public ones is enough
    ("https://metadata.example.org/latest/", "169.254.169.254"),
    ("https://v6.example.org/", "::1"),
    ("https://127.0.0.1/", "127.0.0.1"),
    ("https://[::1]:8443/", "::1"),
    ("https://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe"),
    ("https://nowhere.example.org/", "cannot be resolved"),
    ("https://user:pass@crm.example.org/", "Credentials"),
    ("https:///path", "no host"),
    ("https://crm.example.org:99999/", "Not a valid URL"),
    ("https://crm.example.org/#frag", "fragment"),
])
def test_urls_that_could_reach_the_machines_own_network_are_refused(settings, dns, url, says):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert says in url_problem(url)
