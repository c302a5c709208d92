"""Where ``demo --serve ADDRESS`` points its links: the address a browser can open."""

from __future__ import annotations

import pytest

from shop.demo.build import served_site_url


@pytest.mark.parametrize(
    ("addrport", "site_url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:9000", "http://localhost:9000"),
        ("8080", "http://127.0.0.1:8080"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("0:9000", "http://127.0.0.1:9000"),
        ("[::]:8000", "http://[::1]:8000"),
        ("[::1]:8001", "http://[::1]:8001"),
        ("shop.lan:80", "http://shop.lan:80"),
    ],
)
def test_a_served_address_becomes_a_link_a_browser_opens(addrport, site_url):
    assert served_site_url(addrport) == site_url
