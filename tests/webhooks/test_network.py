"""Where deliveries may go: https, public addresses; names resolving to private ones refused (SSRF)."""

import pytest

from dispatch.webhooks import network
from dispatch.webhooks.network import address_allowed, url_problem


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
    ("https://nowhere.example.org/", "cannot be resolved"),
    ("https://user:pass@crm.example.org/", "Credentials"),
    ("https:///path", "no host"),
    ("https://crm.example.org:99999/", "Not a valid URL"),
    ("https://crm.example.org/#frag", "fragment"),
])
def test_urls_that_could_reach_the_machines_own_network_are_refused(settings, dns, url, says):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert says in url_problem(url)
