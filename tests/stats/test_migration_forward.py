"""The dashboard's models moved from ``shop`` to ``stats`` without touching a row.

A database migrated before the move (shop at 0004_dashboard, no stats app)
holds views and roll-ups; migrating it forward keeps every row in the same
tables, now read through the ``stats`` models, and the permissions granted
on them follow their content types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.apps import apps as current_apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shop.stats.models import DailySource, DailyStats, ProductView, StatsBook
from tests.migrating import leaves, migrate_to, migrated_back

# Every app's latest migration before the move; "stats" did not exist.
BEFORE: dict[str, str | None] = {"shop": "0004_dashboard", "stats": None}
TABLES = ["shop_productview", "shop_statsbook", "shop_dailystats", "shop_dailysource"]


@pytest.fixture
def before_the_move() -> Iterator[list[tuple[str, str]]]:
    with migrated_back(BEFORE) as targets:
        yield targets


@pytest.mark.django_db(transaction=True)
def test_rows_and_permissions_survive_the_move(before_the_move) -> None:
    old_apps = MigrationExecutor(connection).loader.project_state(before_the_move).apps
    with pytest.raises(LookupError):
        old_apps.get_app_config("stats")
    User = old_apps.get_model("auth", "User")
    Seller = old_apps.get_model("catalog", "Seller")
    Product = old_apps.get_model("catalog", "Product")
    OldView = old_apps.get_model("shop", "ProductView")
    OldBook = old_apps.get_model("shop", "StatsBook")
    OldStats = old_apps.get_model("shop", "DailyStats")
    OldSource = old_apps.get_model("shop", "DailySource")

    user = User.objects.create(username="atelier")
    seller = Seller.objects.create(user=user, slug="atelier", display_name="Atelier")
    product = Product.objects.create(seller=seller, slug="notes", title="Notes", price=900)
    at = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    view = OldView.objects.create(seller=seller, product=product, at=at, utm_source="news")
    book = OldBook.objects.create(
        scope=f"seller:{seller.pk}", seller=seller, timezone="Europe/Paris"
    )
    day = OldStats.objects.create(
        book=book, day=at.date(), seller=seller, product=product, orders=2, gross=1800
    )
    source = OldSource.objects.create(
        book=book, day=at.date(), product=product, kind="source", value="news", views=1
    )
    # A permission granted on a dashboard model before the move, on shop's content type.
    OldContentType = old_apps.get_model("contenttypes", "ContentType")
    OldPermission = old_apps.get_model("auth", "Permission")
    OldGroup = old_apps.get_model("auth", "Group")
    content_type = OldContentType.objects.get(app_label="shop", model="dailystats")
    permission = OldPermission.objects.get(content_type=content_type, codename="view_dailystats")
    OldGroup.objects.create(name="analysts").permissions.add(permission)

    executor = migrate_to(leaves())

    state = executor.loader.project_state().apps
    assert state.get_model("stats", "DailyStats")._meta.db_table == "shop_dailystats"
    with pytest.raises(LookupError):
        state.get_model("shop", "DailyStats")
    tables = connection.introspection.table_names()
    assert set(TABLES) <= set(tables)
    assert not [t for t in tables if t.startswith("stats_")]  # nothing created, nothing renamed

    assert current_apps.get_model("stats", "ProductView") is ProductView
    moved_view = ProductView.objects.get()
    assert (moved_view.pk, moved_view.product_id, moved_view.seller_id) == (
        view.pk,
        product.pk,
        seller.pk,
    )
    assert moved_view.at == at and moved_view.utm_source == "news"
    moved_book = StatsBook.objects.get()
    assert (moved_book.pk, moved_book.seller_id, moved_book.timezone) == (
        book.pk,
        seller.pk,
        "Europe/Paris",
    )
    # The foreign keys between the moved models and to the catalog still join.
    assert list(moved_book.days.values_list("pk", "orders", "gross")) == [(day.pk, 2, 1800)]
    assert list(moved_book.sources.values_list("pk", "value", "views")) == [(source.pk, "news", 1)]
    assert DailyStats.objects.filter(product__slug="notes", seller__slug="atelier").count() == 1
    assert DailySource.objects.filter(book__seller__slug="atelier").count() == 1

    ContentType.objects.clear_cache()
    moved_type = ContentType.objects.get_for_model(DailyStats)
    assert (moved_type.pk, moved_type.app_label) == (content_type.pk, "stats")
    assert not ContentType.objects.filter(app_label="shop", model="dailystats").exists()
    assert Group.objects.get(name="analysts").permissions.get().natural_key() == (
        "view_dailystats",
        "stats",
        "dailystats",
    )
