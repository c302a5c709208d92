"""Roll-ups written when free claims counted as orders are rebuilt, not trusted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import Product
from shop.services import OrderLine, order_create
from shop.stats.models import DailyStats, StatsBook
from shop.stats.rollups import stats_book_roll
from tests.factories import ProductFactory, SellerFactory
from tests.migrating import leaves, migrate_to, migrated_back


@pytest.mark.django_db(transaction=True)
def test_books_rolled_before_paid_orders_are_rebuilt_on_the_next_roll(monkeypatch) -> None:
    with migrated_back({"stats": "0001_initial"}) as targets:
        old_apps = MigrationExecutor(connection).loader.project_state(targets).apps
        seller = SellerFactory(timezone="UTC")
        free = ProductFactory(seller=seller, pricing=Product.Pricing.FREE, price=0)
        claimed = dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC)
        monkeypatch.setattr("django.utils.timezone.now", lambda: claimed)
        order_create(
            lines=[OrderLine(free)], email="fan@example.com", checkout_key="k" * 20, provider="t"
        )
        OldBook = old_apps.get_model("stats", "StatsBook")
        OldStats = old_apps.get_model("stats", "DailyStats")
        # What the old roll-up wrote for that day: the free claim as an order.
        book = OldBook.objects.create(
            scope=f"seller:{seller.pk}",
            seller_id=seller.pk,
            timezone="UTC",
            rolled_until=dt.date(2025, 5, 2),
        )
        OldStats.objects.create(
            book=book, day=claimed.date(), seller_id=seller.pk, orders=1, units=1
        )
        migrate_to(leaves())

        assert StatsBook.objects.get(pk=book.pk).rolled_until is None  # read live until rebuilt
        assert DailyStats.objects.filter(book_id=book.pk).count() == 1  # nothing lost meanwhile
        rebuilt = stats_book_roll(seller=seller, now=dt.datetime(2025, 5, 3, 12, tzinfo=dt.UTC))
        assert rebuilt.rolled_until == dt.date(2025, 5, 3)
        day = DailyStats.objects.get(book=rebuilt, product__isnull=True)
        assert (day.orders, day.units, day.paid_units) == (0, 1, 0)
