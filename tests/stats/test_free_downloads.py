"""Free claims on the dashboard: counted apart as free downloads, never listed as sales."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product
from shop.services import OrderLine, checkout_key_new, order_create, order_fulfil
from shop.stats.facts import Scope
from shop.stats.models import ProductView
from shop.stats.rollups import stats_books_roll
from shop.stats.selectors import (
    Dashboard,
    Figures,
    book_for,
    dashboard_read,
    period_from,
    recent_sales,
)
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.stats.test_dashboard import Clock, frozen_clock

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
    assert 'data-figure="orders">1<' in html  # a free claim is no order
    assert 'data-figure="free">3<' in html
    assert 'data-figure="gross">€9.00<' in html
    recent = html.split('id="recent-heading"')[1].split("</section>")[0]
    assert "Paid Album" in recent and "Free Single" not in recent

    export = client.get(reverse("stats:dashboard_export", args=["products"]), {"range": "7d"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    sales = {row[0]: row[3] for row in rows[1:]}
    assert sales == {"Paid Album": "1", "Free Single": "0"}  # free claims are no sales


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


def _order(clock: Clock, when: datetime, products: list[Product], key: str, country: str) -> None:
    clock.set(when)
    order = order_create(
        lines=[OrderLine(p) for p in products],
        email=f"{key}@example.com",
        checkout_key=f"free-claims-{key}",
        provider="test",
    )
    if order.total:
        order_fulfil(order_id=order.pk, payment_id=f"pi_{key}", country=country)


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled up"])
def test_an_order_counts_only_when_something_in_it_cost_something(
    clock: Clock, rolled: bool
) -> None:
    seller = SellerFactory(timezone="UTC")
    paid = ProductFactory(seller=seller, price=900)
    free = ProductFactory(seller=seller, pricing=Product.Pricing.FREE, price=0)
    day = datetime(2025, 5, 1, tzinfo=UTC)
    _order(clock, day + timedelta(hours=9), [free], "free-fr", "FR")
    _order(clock, day + timedelta(hours=10), [paid, free], "mixed-fr", "FR")
    _order(clock, day + timedelta(hours=11), [free], "free-nowhere", "")
    for product, views in ((free, 4), (paid, 2)):
        ProductView.objects.bulk_create(
            ProductView(seller=seller, product=product, at=day + timedelta(hours=8))
            for _ in range(views)
        )
    now = datetime(2025, 5, 3, 12, tzinfo=UTC)
    clock.set(now)
    if rolled:
        stats_books_roll(now=now)
    period = period_from({"range": "7d"}, now.date())

    def read(scope: Scope) -> Dashboard:
        book = book_for(scope, "UTC")
        assert (book is not None) == rolled
        return dashboard_read(scope=scope, tz_name="UTC", period=period, now=now, book=book)

    board = read(Scope(seller_id=seller.pk))
    figures = Figures.of(board.current)
    # Three orders were placed; one of them is a sale (the free item beside it changes nothing).
    assert (figures.orders, figures.paid_units, figures.free_units) == (1, 1, 3)
    assert figures.conversion == Decimal(1) / Decimal(6)
    assert figures.average_price == 900
    assert board.products[(seller.pk, free.pk)]["orders"] == 0
    free_figures = Figures.of(board.products[(seller.pk, free.pk)], per_product=True)
    assert (free_figures.units, free_figures.paid_units) == (3, 0)
    assert free_figures.conversion == Decimal(0)  # 4 views, no sale
    paid_figures = Figures.of(board.products[(seller.pk, paid.pk)], per_product=True)
    assert paid_figures.conversion == Decimal(1) / Decimal(2)
    assert board.sources[("country", "FR")] == Counter({"orders": 1, "units": 1, "gross": 900})
    assert not any(board.sources.get(("country", ""), Counter()).values())

    product_board = read(Scope(seller_id=seller.pk, product_id=free.pk))
    assert not any(product_board.sources.get(("country", "FR"), Counter()).values())
    assert Figures.of(product_board.current, per_product=True).conversion == Decimal(0)

    shop_board = read(Scope())
    shop = Figures.of(shop_board.current)
    assert (shop.orders, shop.units, shop.conversion) == (1, 4, Decimal(1) / Decimal(6))
    assert shop_board.sellers[seller.pk]["orders"] == 1
