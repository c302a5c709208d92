"""Spotting a library link shared widely: many networks in a day, seen by sellers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery import access
from delivery.models import Download
from delivery.selectors import libraries_shared_widely, libraries_with_networks
from delivery.services import download_record, entitlement_grant, ip_network
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file

pytestmark = pytest.mark.django_db

NOON = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.9", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("2001:db8:abcd:ffff::9", "2001:db8:abcd::/48"),
        (None, ""),
        ("", ""),
        ("not an ip", ""),
    ],
)
def test_an_address_belongs_to_its_slash_24_or_slash_48(ip, network):
    assert ip_network(ip) == network


@pytest.fixture
def owned(product, pdf_asset):
    return entitlement_grant(email="fan@example.com", product=product), pdf_asset


def _fetch(entitlement, asset, ip, at):
    row = download_record(
        entitlement=entitlement, asset=asset, ip=ip, user_agent="t", range_header=""
    )
    if row.pk is not None:  # nothing is written for a network already seen in the window
        Download.objects.filter(pk=row.pk).update(at=at)


def test_a_library_used_from_many_networks_in_a_day_is_flagged(owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 4
    entitlement, asset = owned
    for n in range(4):
        _fetch(entitlement, asset, f"198.51.{n}.7", NOON - timedelta(hours=n * 5))
    flagged = list(libraries_shared_widely(now=NOON))
    assert flagged == [entitlement.library]
    assert flagged[0].networks == 4
    assert flagged[0].last_download_at == NOON


def test_one_network_many_addresses_is_one_household(owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 2
    entitlement, asset = owned
    for n in range(10):
        _fetch(entitlement, asset, f"198.51.100.{n}", NOON - timedelta(minutes=n))
        _fetch(entitlement, asset, f"2001:db8:1:{n}::1", NOON - timedelta(minutes=n))
    assert libraries_with_networks(now=NOON).get().networks == 2
    _fetch(entitlement, asset, None, NOON)  # unknown address: counts for nothing
    assert libraries_with_networks(now=NOON).get().networks == 2


def test_only_the_last_24_hours_count(owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 3
    entitlement, asset = owned
    _fetch(entitlement, asset, "198.51.1.1", NOON - timedelta(hours=25))
    _fetch(entitlement, asset, "198.51.2.1", NOON - timedelta(hours=22))
    _fetch(entitlement, asset, "198.51.3.1", NOON - timedelta(hours=1))
    _fetch(entitlement, asset, "198.51.4.1", NOON + timedelta(hours=1))  # after `now`
    assert not libraries_shared_widely(now=NOON).exists()
    assert libraries_with_networks(now=NOON).get().networks == 2
    later = NOON + timedelta(hours=1)
    assert libraries_with_networks(now=later).get().networks == 3
    assert list(libraries_shared_widely(now=later)) == [entitlement.library]


def test_a_seller_sees_only_what_their_own_products_show(owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 3
    entitlement, asset = owned
    other_product = ProductFactory(seller=SellerFactory())
    other_asset = add_file(other_product, name="other.pdf")
    other = entitlement_grant(email="fan@example.com", product=other_product)
    _fetch(entitlement, asset, "198.51.1.1", NOON)
    for n in range(2, 5):
        _fetch(other, other_asset, f"198.51.{n}.1", NOON)
    assert list(libraries_shared_widely(now=NOON)) == [entitlement.library]
    assert list(libraries_shared_widely(now=NOON, seller=other_product.seller)) == [
        entitlement.library
    ]
    assert not libraries_shared_widely(now=NOON, seller=entitlement.product.seller).exists()


def test_downloads_through_the_view_record_the_network(client, owned):
    entitlement, asset = owned
    link = reverse(
        "delivery:download",
        kwargs={"signed": access.file_link_mint(entitlement=entitlement, asset=asset)},
    )
    client.get(link, REMOTE_ADDR="203.0.113.77")
    row = Download.objects.get()
    assert (row.ip, row.network) == ("203.0.113.77", "203.0.113.0/24")


def test_the_admin_flags_shared_libraries(client, owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 3
    entitlement, asset = owned
    quiet = entitlement_grant(email="quiet@example.com", product=entitlement.product)
    # The admin looks at the 24 hours before the real now.
    an_hour_ago = timezone.now() - timedelta(hours=1)
    _fetch(quiet, asset, "198.51.100.1", an_hour_ago)
    for n in range(3):
        _fetch(entitlement, asset, f"198.51.{n}.1", an_hour_ago)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:delivery_library_changelist")
    every = client.get(url).content.decode()
    assert "fan@example.com" in every and "quiet@example.com" in every
    assert "shared?" in every
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "partagée\u202f?" in french and "Réseaux (24 h)" in french
    assert "Utilisée depuis 3 réseaux ou plus en 24 heures" in french
    shared = client.get(url, {"shared": "yes"}).content.decode()
    assert "fan@example.com" in shared and "quiet@example.com" not in shared


def test_the_sales_dashboard_names_the_sellers_shared_libraries(
    client, owned, settings, django_assert_max_num_queries
):
    from tests.stats.test_dashboard_pages import SELLER_MAX_QUERIES

    settings.DELIVERY_SHARED_NETWORKS = 3
    entitlement, asset = owned
    product = entitlement.product
    quiet = entitlement_grant(email="quiet@example.com", product=product)
    elsewhere = entitlement_grant(email="other-shop@example.com", product=ProductFactory())
    an_hour_ago = timezone.now() - timedelta(hours=1)
    _fetch(quiet, asset, "198.51.100.1", an_hour_ago)
    for n in range(3):
        _fetch(entitlement, asset, f"198.51.{n}.1", an_hour_ago)
        _fetch(elsewhere, add_file(elsewhere.product), f"192.0.{n}.1", an_hour_ago)
    client.force_login(product.seller.user)
    with django_assert_max_num_queries(SELLER_MAX_QUERIES + 1):  # + their purchases
        page = client.get(reverse("stats:dashboard"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-list="shared"' in html
    panel = html[html.index('data-list="shared"') :]
    panel = panel[: panel.index("</ul>")]
    assert "fan@example.com" in panel and "3 networks in the last 24 hours" in panel
    assert "quiet@example.com" not in panel
    assert "other-shop@example.com" not in panel  # another seller's buyer
    assert reverse("delivery:sell_product_delivery", args=[product.pk]) in panel


def test_a_dashboard_with_no_shared_library_has_no_such_panel(client, owned, settings):
    settings.DELIVERY_SHARED_NETWORKS = 3
    entitlement, asset = owned
    _fetch(entitlement, asset, "198.51.100.1", timezone.now() - timedelta(hours=1))
    client.force_login(entitlement.product.seller.user)
    page = client.get(reverse("stats:dashboard"))
    assert page.status_code == 200
    assert 'data-list="shared"' not in page.content.decode()
