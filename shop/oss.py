"""The One-Stop-Shop (OSS) VAT report of a quarter, from the figures kept on orders.

Nothing is asked of Stripe: each paid item keeps its VAT, rate and net amount
(``shop.tax``), its order the buyer's country. A sale counts in the quarter it
was paid. A refund counts in the quarter it was made, as a negative
correction at the rate of the line it gave back: a refund of one item at that
item's rate; a refund of a whole order (made on Stripe's dashboard) spread
over its lines in proportion to what the buyer paid for each, the last line
taking the remainder. The VAT in a refund is ``amount × line VAT // line
gross`` (rounded down, as the ledger rounds the seller's part), the rest of
it net. Quarters are calendar quarters in ``VAT_REPORT_TIME_ZONE`` (by
default the site's ``TIME_ZONE``): a French operator files on Paris time, so a
sale paid at 00:30 on 1 April in Paris (22:30 UTC on 31 March) is in Q2;
``VAT_REPORT_TIME_ZONE=UTC`` matches Stripe's own tax reports instead. Amounts
are minor units of the shop's currency.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from catalog.money import to_decimal_string
from shop.models import OrderItem, Refund
from shop.tax import EU_COUNTRIES, rate_text

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.VAT_REPORT_TIME_ZONE)


class QuarterError(ValueError):
    """A quarter not written like 2027Q1."""


@dataclass(frozen=True, slots=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = QUARTER.match(text.strip().upper())
        if not match or not 2000 <= int(match.group(1)) <= 2999:
            raise QuarterError(text)
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=report_zone())

    @property
    def end(self) -> datetime:
        if self.number == 4:
            return datetime(self.year + 1, 1, 1, tzinfo=report_zone())
        return datetime(self.year, 3 * self.number + 1, 1, tzinfo=report_zone())

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


@dataclass(slots=True)
class Row:
    country: str
    rate: int | None  # hundredths of a percent
    net: int = 0
    vat: int = 0
    sales: int = 0
    refunds: int = 0

    @property
    def rate_text(self) -> str:
        return rate_text(self.rate)


def _country(item: OrderItem) -> str:
    order = item.order
    return order.tax_country or order.billing_country or order.country


def _refund_shares(refund: Refund) -> Iterable[tuple[OrderItem, int]]:
    if refund.item_id is not None:
        assert refund.item is not None
        yield refund.item, refund.amount
        return
    items = sorted(refund.order.items.all(), key=lambda i: i.pk)
    items = [i for i in items if i.gross > 0]
    total = sum(i.gross for i in items)
    given = 0
    for index, item in enumerate(items):
        share = (
            refund.amount - given
            if index == len(items) - 1
            else refund.amount * item.gross // total
        )
        given += share
        if share:
            yield item, share


def quarter_report(quarter: Quarter) -> list[Row]:
    """Net, VAT, sales and refunds per EU country and rate, sorted by country then rate."""
    rows: dict[tuple[str, int | None], Row] = {}

    def row(country: str, rate: int | None) -> Row:
        return rows.setdefault((country, rate), Row(country, rate))

    sold = OrderItem.objects.filter(
        order__paid_at__gte=quarter.start,
        order__paid_at__lt=quarter.end,
        order__currency=settings.STORE_CURRENCY,
        tax_rate__isnull=False,
    ).select_related("order")
    for item in sold:
        country = _country(item)
        if country not in EU_COUNTRIES:
            continue
        entry = row(country, item.tax_rate)
        entry.net += item.net
        entry.vat += item.tax_amount
        entry.sales += 1
    refunds = (
        Refund.objects.filter(
            created_at__gte=quarter.start,
            created_at__lt=quarter.end,
            order__currency=settings.STORE_CURRENCY,
        )
        .select_related("item__order", "order")
        .prefetch_related("order__items__order")
    )
    for refund in refunds:
        for item, amount in _refund_shares(refund):
            country = _country(item)
            if item.tax_rate is None or country not in EU_COUNTRIES or item.gross == 0:
                continue
            vat = amount * item.tax_amount // item.gross
            entry = row(country, item.tax_rate)
            entry.vat -= vat
            entry.net -= amount - vat
            entry.refunds += 1
    return sorted(rows.values(), key=lambda r: (r.country, r.rate or 0))


def report_csv(quarter: Quarter, rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["quarter", "country", "rate_percent", "currency", "net", "vat", "sales",
                     "refunds"])  # fmt: skip
    currency = settings.STORE_CURRENCY
    for r in rows:
        writer.writerow(
            [
                str(quarter),
                r.country,
                "" if r.rate is None else f"{r.rate / 100:g}",
                currency,
                to_decimal_string(r.net, currency),
                to_decimal_string(r.vat, currency),
                r.sales,
                r.refunds,
            ]
        )
    return out.getvalue()
