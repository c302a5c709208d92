"""Reads: cursor pages across ties, filters, files without addresses, figures from the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from shop.models import OrderItem
from shop.stats.facts import Scope
from shop.stats.selectors import Figures, dashboard_read, period_from
from tests.api.conftest import Api, Shop, error_of, sale
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _walk(api: Api, path: str, token: str, **query) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        params = dict(query, limit=2) | ({"cursor": cursor} if cursor else {})
        body = api.get(path, token, **params).json()
        pages += 1
        seen += [row["id"] for row in body["items"]]
        cursor = body["next"]
        if cursor is None:
            return seen, pages


def test_product_pages_with_equal_times_repeat_and_skip_nothing(api: Api, shop_a: Shop) -> None:
    same = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    extra = [ProductFactory(seller=shop_a.seller) for _ in range(5)]
    Product.objects.filter(pk__in=[p.pk for p in extra]).update(created_at=same)
    expected = list(
        Product.objects.filter(seller=shop_a.seller)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    seen, pages = _walk(api, "products", shop_a.token())
    assert seen == expected
    assert pages == 4  # 7 products, 2 a page


def test_sale_pages_keep_items_of_one_order_together_in_order(api: Api, shop_a: Shop) -> None:
    when = timezone.now() - timedelta(hours=3)
    items = [sale(shop_a.product, paid_at=when) for _ in range(4)]
    seen, _ = _walk(api, "sales", shop_a.token())
    assert seen == [*sorted((i.pk for i in items), reverse=True), shop_a.item.pk]


def test_a_new_sale_does_not_shift_the_next_page(api: Api, shop_a: Shop) -> None:
    h5, h4, h3 = (
        sale(shop_a.product, paid_at=timezone.now() - timedelta(hours=hours)) for hours in (5, 4, 3)
    )
    first = api.get("sales", shop_a.token(), limit=2).json()
    assert [row["id"] for row in first["items"]] == [h3.pk, h4.pk]
    sale(shop_a.product, paid_at=timezone.now())  # newer than all: belongs on page one
    second = api.get("sales", shop_a.token(), limit=2, cursor=first["next"]).json()
    assert [row["id"] for row in second["items"]] == [h5.pk, shop_a.item.pk]
    assert second["next"] is None


@pytest.mark.parametrize("cursor", ["nonsense", "W1swLDFdXQ:bad:sig", "x" * 400])
def test_an_edited_or_invented_cursor_is_a_400(api: Api, shop_a: Shop, cursor: str) -> None:
    response = api.get("sales", shop_a.token(), cursor=cursor)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_cursor"


def test_a_cursor_of_one_list_is_refused_by_another(api: Api, shop_a: Shop) -> None:
    for _ in range(3):
        ProductFactory(seller=shop_a.seller)
    cursor = api.get("products", shop_a.token(), limit=1).json()["next"]
    assert cursor
    response = api.get("sales", shop_a.token(), cursor=cursor)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_cursor"


def test_sales_filter_by_day_and_product(api: Api, shop_a: Shop) -> None:
    other = ProductFactory(seller=shop_a.seller)
    march = sale(shop_a.product, paid_at=datetime(2025, 3, 10, 9, tzinfo=UTC))
    sale(other, paid_at=datetime(2025, 3, 10, 10, tzinfo=UTC))
    sale(shop_a.product, paid_at=datetime(2025, 4, 2, 9, tzinfo=UTC))
    body = api.get(
        "sales", shop_a.token(), since="2025-03-01", until="2025-03-31", product=shop_a.product.pk
    ).json()
    assert [row["id"] for row in body["items"]] == [march.pk]
    assert body["items"][0]["price_paid"] == 1000
    assert body["items"][0]["seller_share"] == 900


def test_days_are_the_sellers_own(api: Api, shop_a: Shop) -> None:
    shop_a.seller.timezone = "Pacific/Auckland"  # UTC+13 in March
    shop_a.seller.save()
    late = sale(shop_a.product, paid_at=datetime(2025, 3, 10, 12, tzinfo=UTC))  # 11 March there
    on_10 = api.get("sales", shop_a.token(), since="2025-03-10", until="2025-03-10").json()
    on_11 = api.get("sales", shop_a.token(), since="2025-03-11", until="2025-03-11").json()
    assert on_10["items"] == []
    assert [row["id"] for row in on_11["items"]] == [late.pk]


def test_refunds_list_what_was_taken_back_from_the_seller(api: Api, shop_a: Shop) -> None:
    (row,) = api.get("refunds", shop_a.token()).json()["items"]
    assert row["sale_id"] == shop_a.item.pk
    assert row["seller_debit"] == 450  # 500 refunded, less the platform's 10 % given back
    assert row["reason"] == "Changed mind"


def test_files_are_described_never_addressed(api: Api, shop_a: Shop) -> None:
    asset = shop_a.asset
    asset.metadata = {"pages": 3, "title": "Demo"}  # as the inspection writes it
    asset.save()
    response = api.get(f"products/{shop_a.product.pk}/files", shop_a.token())
    (described,) = response.json()
    assert described["filename"] == asset.original_filename
    assert described["size"] == asset.size_bytes > 0
    assert described["type"] == "application/pdf"
    assert described["pages"] == 3 and described["duration_seconds"] is None
    text = response.content.decode()
    assert asset.file.name not in text and "http" not in text and "/media/" not in text


def test_stats_are_the_dashboards_own_figures(api: Api, shop_a: Shop) -> None:
    body = api.get("stats", shop_a.token(), range="7d").json()
    today = timezone.now().date()
    period = period_from({"range": "7d"}, today)
    dashboard = dashboard_read(
        scope=Scope(seller_id=shop_a.seller.pk),
        tz_name="UTC",
        period=period,
        now=timezone.now(),
        book=None,
    )
    expected = Figures.of(dashboard.current)
    assert body["figures"]["gross"] == expected.gross == 1000
    assert body["figures"]["net"] == expected.net
    assert body["figures"]["refunded"] == 500
    assert body["first_day"] == (today - timedelta(days=6)).isoformat()


def test_stats_of_one_product(api: Api, shop_a: Shop) -> None:
    other = ProductFactory(seller=shop_a.seller)
    sale(other, paid_at=timezone.now() - timedelta(hours=1), price=3000)
    whole = api.get("stats", shop_a.token()).json()["figures"]["gross"]
    one = api.get("stats", shop_a.token(), product=other.pk).json()
    assert whole == 4000 and one["figures"]["gross"] == 3000 and one["product_id"] == other.pk


def test_campaigns_carry_their_pledge_totals(api: Api, shop_a: Shop) -> None:
    (row,) = api.get("campaigns", shop_a.token()).json()
    assert row["pledged"] == 2000 and row["backers"] == 1 and row["tiers"] == {"The album": 1}


def test_followers_are_counted_and_listed_without_the_unconfirmed(api: Api, shop_a: Shop) -> None:
    from catalog.follows.models import Follow

    Follow.objects.create(seller=shop_a.seller, email="maybe@example.com")
    body = api.get("followers", shop_a.token()).json()
    assert body["count"] == 1
    assert [row["email"] for row in body["items"]] == [shop_a.follow.email]


def test_sales_of_unpaid_orders_are_not_sales(api: Api, shop_a: Shop) -> None:
    pending = sale(shop_a.product, paid_at=timezone.now())
    pending.order.status = "pending"
    pending.order.save()
    ids = [row["id"] for row in api.get("sales", shop_a.token()).json()["items"]]
    assert pending.pk not in ids and ids == [shop_a.item.pk]
    assert OrderItem.objects.filter(seller=shop_a.seller).count() == 2
