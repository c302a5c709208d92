"""The dashboard pages and CSV exports: who sees what, in how many queries, in which format."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop.stats.exports import text
from tests.factories import UserFactory
from tests.stats.test_dashboard import Clock, Shop, at, build_shop

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10
# The seller's page adds one indexed COUNT (the followers, catalog.follows),
# the fan-funding campaigns' figures, in one grouped query, and the libraries
# that look shared (delivery), one more when there is any.
SELLER_MAX_QUERIES = MAX_QUERIES + 3


@pytest.fixture(scope="module")
def shop(django_db_setup: None, django_db_blocker: Any) -> Iterator[Shop]:
    """Rolled up half-way: pages read roll-ups, live facts and a whole-order refund of today."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        fake = Clock()
        patch.setattr(timezone, "now", lambda: fake.now)
        with transaction.atomic():
            yield build_shop(fake, Client(), roll_at=at("03-21 12:00"))
            transaction.set_rollback(True)


@pytest.fixture
def seller_client(client: Client, shop: Shop) -> Client:
    client.force_login(shop.paris.user)
    return client


def _figure(html: str, key: str) -> str:
    marker = f'data-figure="{key}">'
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


@pytest.mark.parametrize(
    "query",
    [
        {"range": "7d"},
        {"range": "30d"},
        {"range": "12m"},
        {"range": "all"},
        {"range": "custom", "from": "2025-03-19", "to": "2025-03-21", "by": "week"},
    ],
)
def test_seller_dashboard_reads_in_its_query_budget_and_the_follower_count(
    seller_client: Client, django_assert_max_num_queries: Any, query: dict[str, str]
) -> None:
    with django_assert_max_num_queries(SELLER_MAX_QUERIES):
        response = seller_client.get(reverse("stats:dashboard"), query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Été à Paris" in html


def test_seller_dashboard_shows_the_counted_figures(seller_client: Client) -> None:
    html = seller_client.get(reverse("stats:dashboard"), {"range": "7d"}).content.decode()
    assert _figure(html, "gross") == "€49.00"
    assert _figure(html, "net") == "€32.94"
    assert _figure(html, "fees") == "€2.13"
    assert _figure(html, "refunds") == "€6.33"
    assert _figure(html, "orders") == "4"  # nor is it an order
    assert _figure(html, "units") == "5"  # the free claim of O4 is no sale
    assert _figure(html, "free") == "1"
    assert _figure(html, "downloads") == "3"
    assert _figure(html, "views") == "8"
    assert _figure(html, "conversion") == "50.00 %"  # 4 paid orders over 8 views
    assert _figure(html, "average") == "€9.80"
    assert _figure(html, "transferred") == "€19.00"
    assert _figure(html, "owed") == "€23.44"
    assert "€5.00 above the minimum" in html
    assert "+390.0 %" in html  # gross against the 10.00 of the week before


def test_charts_are_svg_with_titles_and_a_table(seller_client: Client) -> None:
    html = seller_client.get(reverse("stats:dashboard"), {"range": "7d"}).content.decode()
    assert '<svg class="chart" id="revenue-chart"' in html
    assert 'role="img" aria-labelledby="revenue-chart-title revenue-chart-desc"' in html
    assert "<title>Thursday 20 March 2025: €21.00</title>" in html  # O3: 9.00 + 12.00
    assert '<th scope="row">Thursday 20 March 2025</th>' in html
    assert "Highest: €21.00 (Thursday 20 March 2025)." in html


def test_product_dashboard_is_the_sellers_own(
    seller_client: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    url = reverse("stats:dashboard_product", args=[shop.a.pk])
    with django_assert_max_num_queries(MAX_QUERIES):
        response = seller_client.get(url, {"range": "7d"})
    html = response.content.decode()
    assert response.status_code == 200
    assert _figure(html, "gross") == "€29.00"
    assert _figure(html, "conversion") == "60.00 %"
    other = seller_client.get(reverse("stats:dashboard_product", args=[shop.d.pk]))
    assert other.status_code == 404


def test_shop_dashboard_is_for_staff(
    client: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    url = reverse("stats:dashboard_shop")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(shop.paris.user)
    assert client.get(url).status_code == 404
    staff = UserFactory(username="staffer", is_staff=True)
    client.force_login(staff)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url, {"range": "7d"})
    html = response.content.decode()
    assert response.status_code == 200
    assert _figure(html, "gross") == "€59.00"
    assert "Atelier Paris" in html and "Other" in html
    assert "not known here" in html  # Stripe's fees are said to be elsewhere, not made up


def test_a_person_without_a_shop_has_no_dashboard(client: Client) -> None:
    client.force_login(UserFactory(username="buyer-only"))
    # Like every seller page: no figures, an offer to open a shop instead.
    response = client.get(reverse("stats:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("catalog:sell_start")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "forever"}, "Choose 7 days, 30 days, 12 months"),
        ({"range": "custom", "from": "2025-02-30", "to": "2025-03-01"}, "as YYYY-MM-DD"),
        ({"range": "custom", "from": "2025-03-10", "to": "2025-03-01"}, "comes after"),
        ({"range": "custom", "from": "2025-03-10"}, "both the first and the last day"),
        ({"range": "7d", "by": "hour"}, "by day, week or month"),
    ],
)
def test_a_bad_period_is_explained(
    seller_client: Client, query: dict[str, str], message: str
) -> None:
    response = seller_client.get(reverse("stats:dashboard"), query)
    assert response.status_code == 400
    assert message in response.content.decode()
    export = seller_client.get(reverse("stats:dashboard_export", args=["orders"]), query)
    assert export.status_code == 400
    assert message in export.content.decode()


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # the BOM that makes Excel read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_orders_export_streams_every_sale_of_the_period(seller_client: Client) -> None:
    response = seller_client.get(
        reverse("stats:dashboard_export", args=["orders"]), {"range": "7d"}
    )
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    header, lines = rows[0], rows[1:]
    assert header[:4] == ["paid_at", "order", "seller", "product"]
    assert len(lines) == 6
    first = dict(zip(header, lines[0], strict=True))
    assert first["paid_at"] == "2025-03-19 00:30:00"  # Paris time
    assert first["product"] == "Été à Paris"
    assert (first["price_paid"], first["platform_fee"], first["seller_share"]) == (
        "10.00",
        "0.50",
        "9.50",
    )
    assert first["refunded_to_date"] == "3.00"
    assert (first["referrer"], first["utm_source"], first["utm_campaign"]) == (
        "blog.example",
        "newsletter",
        "spring",
    )
    pwyw = [dict(zip(header, line, strict=True)) for line in lines if line[3] == "Nuits"]
    assert [p["pwyw_minimum"] for p in pwyw] == ["5.00", "5.00"]


def test_figures_export_adds_up_to_the_page(seller_client: Client) -> None:
    response = seller_client.get(
        reverse("stats:dashboard_export", args=["figures"]), {"range": "7d", "by": "day"}
    )
    rows = _csv(response)
    header = rows[0]
    days = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [d["period_start"] for d in days[:2]] == ["2025-03-19", "2025-03-20"]
    total = days[-1]
    assert total["period_start"] == "total"
    assert (total["units"], total["free_downloads"]) == ("5", "1")  # as on the cards
    assert (total["orders"], total["gross"], total["net"], total["refunded"]) == (
        "4",
        "49.00",
        "32.94",
        "6.33",
    )
    assert sum(int(d["orders"]) for d in days[:-1]) == 4


def test_products_and_sources_exports(seller_client: Client) -> None:
    products = _csv(
        seller_client.get(reverse("stats:dashboard_export", args=["products"]), {"range": "7d"})
    )
    assert products[1][:5] == ["Été à Paris", "", "5", "3", "29.00"]
    assert {row[0] for row in products[1:]} == {"Été à Paris", "Nuits", "Carnet", "Épreuves"}
    sources = _csv(
        seller_client.get(reverse("stats:dashboard_export", args=["sources"]), {"range": "7d"})
    )
    assert ["country", "FR", "0", "2", "3", "31.00", ""] in sources


def test_unknown_export_is_not_found(seller_client: Client) -> None:
    assert (
        seller_client.get(reverse("stats:dashboard_export", args=["everything"])).status_code == 404
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 1 23", "'+33 1 23"),
        ("@mention", "'@mention"),
        ("-1", "'-1"),
        ("Été", "Été"),
        (None, ""),
    ],
)
def test_text_cells_never_become_formulas(value: str | None, cell: str) -> None:
    assert text(value) == cell
