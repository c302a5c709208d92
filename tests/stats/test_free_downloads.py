"""Free claims on the dashboard: counted apart as free downloads, never listed as sales."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Product
from shop.services import OrderLine, checkout_key_new, order_create, order_fulfil
from shop.stats.facts import Scope
from shop.stats.selectors import recent_sales
from tests.factories import ProductFactory, SellerFactory, add_file

pytestmark = pytest.mark.django_db


def _buy(product: Product, email: str) -> None:
    order = order_create(
        lines=[OrderLine(product)], email=email, checkout_key=checkout_key_new(), provider="test"
    )
    if order.total:
        order_fulfil(order_id=order.pk, payment_id=f"test_{order.public_id.hex}")


def test_free_claims_are_free_downloads_not_sales(client):
    seller = SellerFactory()
    paid = ProductFactory(seller=seller, title="Paid Album", price=900)
    free = ProductFactory(seller=seller, title="Free Single", pricing=Product.Pricing.FREE, price=0)
    for product in (paid, free):
        add_file(product)
    _buy(paid, "a@example.com")
    for n in range(3):
        _buy(free, f"fan{n}@example.com")

    assert [item.product_id for item in recent_sales(Scope(seller_id=seller.pk))] == [paid.pk]
    client.force_login(seller.user)
    html = client.get(reverse("stats:dashboard"), {"range": "7d"}).content.decode()
    assert 'data-figure="units">1<' in html
    assert 'data-figure="free">3<' in html
    assert 'data-figure="gross">€9.00<' in html
    recent = html.split('id="recent-heading"')[1].split("</section>")[0]
    assert "Paid Album" in recent and "Free Single" not in recent
