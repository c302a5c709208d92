"""CSV exports of the dashboard, streamed: no size limit, constant memory.

Format: UTF-8 with a byte order mark (so that Excel reads accents right; other
spreadsheets ignore it), comma-separated, CRLF line ends, a header row.
Amounts are decimal strings in the currency's major unit ("12.50"), times
are local to the dashboard's timezone. Text that a spreadsheet would take
for a formula (starting with ``=``, ``+``, ``-``, ``@``) gets a leading
apostrophe: a product title or a utm tag is other people's input.

Column names are identifiers, not prose: the same in every language (as in
Stripe's and Gumroad's exports), so a seller's formulas and import scripts keep
working when they switch the dashboard to French (decision 91). The comments
beside the headers below say what a column means where its name does not.

Orders are read a month at a time, in order, each through a database cursor,
so the first line goes out at once and memory holds a chunk of lines at most.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from catalog.money import to_decimal_string
from shop.models import OrderItem
from shop.stats.facts import Scope
from shop.stats.localtime import day_start, zone
from shop.stats.selectors import Dashboard, Figures, Period, series

BOM = "\ufeff"
ROWS_PER_CHUNK = 500
WINDOW_DAYS = 31
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object that hands back what csv.writer writes to it."""

    def write(self, value: str) -> str:
        return value


def text(value: object) -> str:
    """A text cell that a spreadsheet will show, never evaluate."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def stream(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(header)
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow(row))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _amount(value: int | None, currency: str) -> str:
    return "" if value is None else to_decimal_string(value, currency)


def _percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.2f}"


# --- Orders -------------------------------------------------------------------

ORDER_HEADER = [
    "paid_at",
    "order",
    "seller",
    "product",
    "currency",
    "price_paid",
    "tax_behavior",  # inclusive: price_paid holds the VAT; exclusive: VAT was added on top
    "vat_rate_percent",
    "vat",
    "gross",  # what the buyer paid for the line, VAT included
    "net",  # gross less VAT
    "list_price",
    "discount",
    "discount_code",
    "pwyw_minimum",
    "platform_fee",
    "seller_share",
    "refunded_to_date",
    "status",
    "buyer_email",
    "country",
    "referrer",
    "utm_source",
    "utm_campaign",
]
_ORDER_FIELDS = (
    "order__paid_at",
    "order__public_id",
    "seller__display_name",
    "title",
    "order__currency",
    "unit_price",
    "tax_behavior",
    "tax_rate",
    "tax_amount",
    "list_price",
    "discount_amount",
    "discount_code__code",
    "minimum_price",
    "platform_fee",
    "refunded_amount",
    "order__status",
    "order__buyer_email",
    "order__country",
    "order__referrer_host",
    "order__utm_source",
    "order__utm_campaign",
)


def _scoped_items(scope: Scope) -> Any:
    items = OrderItem.objects.filter(order__currency=settings.STORE_CURRENCY)
    if scope.product_id is not None:
        return items.filter(product_id=scope.product_id)
    if scope.seller_id is not None:
        return items.filter(seller_id=scope.seller_id)
    return items


def order_rows(*, scope: Scope, period: Period, tz_name: str) -> Iterator[list[object]]:
    """One line per sale (order item) paid in ``period``, oldest first, a month at a time."""
    tz = zone(tz_name)
    items = _scoped_items(scope)
    first = period.first
    if first is None:
        oldest = (
            items.filter(order__paid_at__isnull=False)
            .order_by("order__paid_at")
            .values_list("order__paid_at", flat=True)
            .first()
        )
        if oldest is None:
            return
        first = oldest.astimezone(tz).date()
    day: date = first
    while day <= period.last:
        until = min(day + timedelta(days=WINDOW_DAYS), period.last + timedelta(days=1))
        rows = (
            items.filter(
                order__paid_at__gte=day_start(day, tz),
                order__paid_at__lt=day_start(until, tz),
            )
            .order_by("order__paid_at", "pk")
            .values_list(*_ORDER_FIELDS)
        )
        # A cursor on the server (PostgreSQL) or fetchmany (SQLite): never a whole window in memory.
        for row in rows.iterator(chunk_size=2000):
            (paid_at, public_id, seller, title, currency, price, behavior, rate, vat) = row[:9]
            (listed, discount, code, minimum, fee, refunded, status, email) = row[9:17]
            (country, ref, source, campaign) = row[17:]
            gross = price + (vat if behavior == "exclusive" else 0)
            yield [
                paid_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                str(public_id),
                text(seller),
                text(title),
                currency,
                _amount(price, currency),
                behavior,
                "" if rate is None else f"{Decimal(rate) / 100:.2f}",
                _amount(vat, currency),
                _amount(gross, currency),
                _amount(gross - vat, currency),
                _amount(listed, currency),
                _amount(discount, currency),
                text(code or ""),
                _amount(minimum, currency),
                _amount(fee, currency),
                _amount(gross - vat - fee, currency),  # VAT is owed, not earned
                _amount(refunded, currency),
                status,
                text(email),
                country,
                text(ref),
                text(source),
                text(campaign),
            ]
        day = until


# --- Figures -------------------------------------------------------------------

FIGURE_HEADER = [
    "period_start",
    "orders",  # paid orders: free claims are not orders
    "units",  # units sold: items that cost something
    "free_downloads",  # free products and zero prices claimed
    "gross",
    "vat",  # VAT in the gross, less the VAT given back with refunds
    "net_sales",  # gross less VAT
    "refunds",
    "refunded",
    "fees",
    "disputes",
    "dispute_debit",
    "net",
    "downloads",
    "product_page_views",
    "conversion_percent",
    "average_price",
    "pwyw_units",
    "pwyw_average",
    "pwyw_above_minimum",
]


def _figure_cells(figures: Figures, currency: str) -> list[object]:
    return [
        figures.orders,
        figures.paid_units,
        figures.free_units,
        _amount(figures.gross, currency),
        _amount(figures.vat, currency),
        _amount(figures.net_sales, currency),
        figures.refunds,
        _amount(figures.refunded, currency),
        _amount(figures.fees, currency),
        figures.disputes,
        _amount(figures.dispute_debit, currency),
        _amount(figures.net, currency),
        figures.downloads,
        figures.views,
        _percent(figures.conversion),
        _amount(figures.average_price, currency),
        figures.pwyw_units,
        _amount(figures.pwyw_average, currency),
        _amount(figures.pwyw_above, currency),
    ]


def figure_rows(dashboard: Dashboard, currency: str) -> Iterator[list[object]]:
    per_product = dashboard.scope.product_id is not None
    for start, counts in series(dashboard):
        yield [
            start.isoformat(),
            *_figure_cells(Figures.of(counts, per_product=per_product), currency),
        ]
    yield [
        "total",
        *_figure_cells(Figures.of(dashboard.current, per_product=per_product), currency),
    ]


PRODUCT_HEADER = [
    "product",
    "seller",
    "product_page_views",
    "sales",
    "gross",
    "vat",
    "net",
    "conversion_percent",
    "downloads",
    "refunds",
    "refunded",
]


def product_rows(rows: Iterable[dict[str, Any]], currency: str) -> Iterator[list[object]]:
    for row in rows:
        figures: Figures = row["figures"]
        yield [
            text(row["title"]),
            text(row.get("seller", "")),
            figures.views,
            figures.paid_units,
            _amount(figures.gross, currency),
            _amount(figures.vat, currency),
            _amount(figures.net, currency),
            _percent(figures.conversion),
            figures.downloads,
            figures.refunds,
            _amount(figures.refunded, currency),
        ]


SOURCE_HEADER = [
    "kind",
    "value",
    "product_page_views",
    "orders",
    "units",
    "gross",
    "conversion_percent",
]


def source_rows(groups: Iterable[dict[str, Any]], currency: str) -> Iterator[list[object]]:
    for group in groups:
        for row in group["rows"]:
            yield [
                group["kind"],
                text(row["value"]),
                row["views"],
                row["orders"],
                row["units"],
                _amount(row["gross"], currency),
                _percent(row["conversion"]),
            ]
