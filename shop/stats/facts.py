"""What each dashboard figure counts, read from the source tables.

Every figure is dated by the event it counts, in the book's timezone:

- a **sale** (order item) by its order's ``paid_at``: units, gross (what the
  buyer paid), the platform fee, discounts, pay-what-you-want amounts. An
  *order* counts only when it holds an item in scope that cost something
  (``PAID``): a free claim is an order of total 0, a free download, not a sale;
- a **refund** by the refund's ``created_at``: the money given back and the
  seller's part of it (``amount * (price - fee) // price``, exactly what
  ``shop.ledger`` debits). A refund made at the provider for a whole order
  (no item) is spread over the items the way ``shop.services`` spread it;
- a **dispute** by its ledger debit's ``created_at``;
- a **download** by ``Download.at``, only rows with ``counted`` (once per
  entitlement, file and window, as the delivery gate counts them);
- a **view** by ``ProductView.at``;
- a **transfer** (a payout to the seller's Stripe account) by its ``created_at``.

Since every new row is stamped with the time it is written, a day that has
ended never changes again: that is what makes the daily roll-ups exact.

Each reader returns a queryset of *fact rows*, all with the same columns
(``COLUMNS``), so that a whole page's live part is one ``UNION ALL`` query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast

from delivery.models import Download
from shop.models import LedgerEntry, OrderItem, Refund, SellerTransfer
from shop.stats.localtime import day_from_number, local_day, offset_changes, zone
from shop.stats.models import FACTS, DailySource, ProductView

KEYS = ("f_kind", "f_seller", "f_product", "f_day", "f_key")
COLUMNS = (*KEYS, *(f"f_{name}" for name in FACTS))

# Where buyers come from: the order's field for each kind of source.
ORDER_SOURCES = {
    DailySource.Kind.REFERRER: "order__referrer_host",
    DailySource.Kind.SOURCE: "order__utm_source",
    DailySource.Kind.CAMPAIGN: "order__utm_campaign",
    DailySource.Kind.COUNTRY: "order__country",
}
VIEW_SOURCES = {
    DailySource.Kind.REFERRER: "referrer_host",
    DailySource.Kind.SOURCE: "utm_source",
    DailySource.Kind.CAMPAIGN: "utm_campaign",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose facts: one seller's, one product's (of that seller), or the whole shop's."""

    seller_id: int | None = None
    product_id: int | None = None

    @property
    def is_shop(self) -> bool:
        return self.seller_id is None and self.product_id is None


@dataclass(frozen=True, slots=True)
class Window:
    """Facts stamped in [start, end), their days counted in ``tz``.

    ``changes`` are the timezone's offsets over the window (computed when
    not given; ``shop.stats.sqlcache`` gives stand-ins).
    """

    tz: str
    start: datetime
    end: datetime
    changes: tuple[tuple[datetime, int], ...] | None = None

    def offsets(self) -> tuple[tuple[datetime, int], ...]:
        return self.changes or offset_changes(self.tz, self.start, self.end)


@dataclass(slots=True)
class Fact:
    kind: str
    seller: int | None
    product: int | None
    day: date | None
    key: str
    counts: dict[str, int] = field(default_factory=dict)


# --- Building fact querysets -----------------------------------------------


# Shared constant expressions: a page's union has hundreds of them, and Django
# hashes each expression it is given (inspecting its constructor) while compiling.
_ZERO = Value(0, output_field=BigIntegerField())
# A typed NULL: PostgreSQL refuses to UNION an untyped NULL with a bigint.
_NULL_INT = Cast(Value(None), output_field=BigIntegerField())
_EMPTY = Value("", output_field=CharField())
_KINDS: dict[str, Value] = {}


def _null_int() -> Cast:
    return _NULL_INT


def _kind(name: str) -> Value:
    if name not in _KINDS:
        _KINDS[name] = Value(name, output_field=CharField())
    return _KINDS[name]


def select_facts(
    queryset: QuerySet[Any],
    *,
    kind: str | Any,
    seller: str | None = None,
    product: str | None = None,
    day: Any = None,
    key: str | None = None,
    counts: dict[str, Any],
) -> QuerySet[Any]:
    """Group ``queryset`` by the given keys and select the counters in ``COLUMNS`` order.

    ``kind`` names what the rows count (or is an expression that does);
    ``seller``, ``product`` and ``key`` are field paths, ``day`` an
    expression; counters left out are zero.
    """
    keys: dict[str, Any] = {
        "f_kind": _kind(kind) if isinstance(kind, str) else kind,
        "f_seller": F(seller) if seller else _null_int(),
        "f_product": F(product) if product else _null_int(),
        "f_day": day if day is not None else _null_int(),
        "f_key": F(key) if key else _EMPTY,
    }
    grouped = queryset.annotate(**keys).values(*KEYS)
    counters = {f"f_{name}": counts.get(name, _ZERO) for name in FACTS}
    return grouped.annotate(**counters).values(*COLUMNS).order_by()


def _scoped(query: QuerySet[Any], scope: Scope, *, product: str, seller: str) -> QuerySet[Any]:
    """Narrow ``query`` to the scope's product, else its seller (the staff scope is all)."""
    if scope.product_id is not None:
        return query.filter(**{product: scope.product_id})
    if scope.seller_id is not None:
        return query.filter(**{seller: scope.seller_id})
    return query


def _in(window: Window, field_name: str) -> Q:
    return Q(**{f"{field_name}__gte": window.start, f"{field_name}__lt": window.end})


def _day(window: Window, field_name: str) -> Any:
    return local_day(field_name, window.tz, window.start, window.end, window.offsets())


# An item that cost something: a sale. Free claims count as units, never as orders.
PAID = Q(unit_price__gt=0)


def _paid_orders() -> Count:
    """Distinct orders with an item in scope that cost something."""
    return Count("order_id", distinct=True, filter=PAID)


def _gross(prefix: str = "") -> Any:
    """What the buyer paid for an item, as ``OrderItem.gross``: VAT on top added."""
    return F(f"{prefix}unit_price") + Case(
        When(**{f"{prefix}tax_behavior": "exclusive"}, then=F(f"{prefix}tax_amount")),
        default=Value(0),
    )


def _items(scope: Scope, window: Window) -> QuerySet[OrderItem]:
    items = OrderItem.objects.filter(
        _in(window, "order__paid_at"), order__currency=settings.STORE_CURRENCY
    )
    items = _scoped(items, scope, product="product_id", seller="seller_id")
    return items


def _sales(scope: Scope, window: Window) -> list[QuerySet[Any]]:
    items = _items(scope, window)
    day = _day(window, "order__paid_at")
    pwyw = Q(minimum_price__isnull=False)
    per_product = select_facts(
        items,
        kind="sale",
        seller="seller_id",
        product="product_id",
        day=day,
        key=None,
        counts={
            "orders": _paid_orders(),
            "units": Count("pk"),
            "paid_units": Count("pk", filter=PAID),
            "gross": Sum(_gross()),
            "vat": Sum("tax_amount"),
            "fees": Sum("platform_fee"),
            "discounts": Sum("discount_amount"),
            "pwyw_units": Count("pk", filter=pwyw),
            "pwyw_paid": Sum("unit_price", filter=pwyw),
            "pwyw_minimum": Sum("minimum_price", filter=pwyw),
        },
    )
    # An order with two of a seller's products is one order for the seller.
    per_seller = select_facts(
        items,
        kind="seller_orders",
        seller="seller_id",
        product=None,
        day=day,
        key=None,
        counts={"orders": _paid_orders()},
    )
    readers = [per_product]
    if scope.product_id is None:
        readers.append(per_seller)
    if scope.is_shop:
        readers.append(
            select_facts(
                items,
                kind="shop_orders",
                seller=None,
                product=None,
                day=day,
                key=None,
                counts={"orders": _paid_orders()},
            )
        )
    return readers


def _seller_part(amount: Any) -> Any:
    """The seller's part of money given back on an item, as ``shop.ledger`` computes it."""
    return (
        Cast(amount, output_field=BigIntegerField())
        * (_gross("item__") - F("item__tax_amount") - F("item__platform_fee"))
        / _gross("item__")
    )


def _vat_part(amount: Any) -> Any:
    """The VAT in money given back on an item (rounded down, like the seller's part)."""
    return Cast(amount, output_field=BigIntegerField()) * F("item__tax_amount") / _gross("item__")


def _refunds(scope: Scope, window: Window) -> list[QuerySet[Any]]:
    refunds = Refund.objects.filter(
        _in(window, "created_at"), item__isnull=False, order__currency=settings.STORE_CURRENCY
    )
    refunds = _scoped(refunds, scope, product="item__product_id", seller="item__seller_id")
    item_refunds = select_facts(
        refunds,
        kind="refund",
        seller="item__seller_id",
        product="item__product_id",
        day=_day(window, "created_at"),
        key=None,
        counts={
            "refunds": Count("pk"),
            "refunded": Sum("amount"),
            "refund_debit": Sum(_seller_part(F("amount"))),
            "refund_vat": Sum(_vat_part(F("amount"))),
        },
    )
    return [item_refunds, _order_refunds_flag(scope, window)]


def _order_refunds(scope: Scope, window: Window) -> QuerySet[Refund]:
    """Refunds recorded for a whole order (from the provider) that touch the scope."""
    refunds = Refund.objects.filter(
        _in(window, "created_at"), item__isnull=True, order__currency=settings.STORE_CURRENCY
    )
    refunds = _scoped(
        refunds, scope, product="order__items__product_id", seller="order__items__seller_id"
    )
    return refunds


def _order_refunds_flag(scope: Scope, window: Window) -> QuerySet[Any]:
    """One row counting them: when there are any, ``order_refund_facts`` reads them."""
    return select_facts(
        _order_refunds(scope, window),
        kind="order_refunds",
        seller=None,
        product=None,
        day=None,
        key=None,
        counts={"refunds": Count("pk", distinct=True)},
    )


def _disputes(scope: Scope, window: Window) -> QuerySet[Any]:
    debits = LedgerEntry.objects.filter(
        _in(window, "created_at"),
        kind=LedgerEntry.Kind.DISPUTE,
        currency=settings.STORE_CURRENCY,
    )
    debits = _scoped(debits, scope, product="item__product_id", seller="seller_id")
    return select_facts(
        debits,
        kind="dispute",
        seller="seller_id",
        product="item__product_id",
        day=_day(window, "created_at"),
        key=None,
        counts={"disputes": Count("pk"), "dispute_debit": -Sum("amount")},
    )


def _downloads(scope: Scope, window: Window) -> QuerySet[Any]:
    # By the file's product, which the delivery gate checks is the entitlement's: the
    # join is then to the few files rather than to every purchase ever made.
    downloads = Download.objects.filter(_in(window, "at"), counted=True)
    downloads = _scoped(
        downloads, scope, product="asset__product_id", seller="asset__product__seller_id"
    )
    return select_facts(
        downloads,
        kind="download",
        seller="asset__product__seller_id",
        product="asset__product_id",
        day=_day(window, "at"),
        key=None,
        counts={"downloads": Count("pk")},
    )


def _views(scope: Scope, window: Window) -> QuerySet[ProductView]:
    views = ProductView.objects.filter(_in(window, "at"))
    views = _scoped(views, scope, product="product_id", seller="seller_id")
    return views


def _view_counts(scope: Scope, window: Window) -> QuerySet[Any]:
    return select_facts(
        _views(scope, window),
        kind="view",
        seller="seller_id",
        product="product_id",
        day=_day(window, "at"),
        key=None,
        counts={"views": Count("pk")},
    )


def transfer_reader(scope: Scope, window: Window, *, kind: str = "transfer") -> QuerySet[Any]:
    """Payouts to sellers' Stripe accounts by the day they were made."""
    transfers = SellerTransfer.objects.filter(
        _in(window, "created_at"),
        currency=settings.STORE_CURRENCY,
        stripe_transfer_id__isnull=False,  # a pending transfer has not been paid yet
    )
    if scope.seller_id is not None:
        transfers = transfers.filter(seller_id=scope.seller_id)
    return select_facts(
        transfers,
        kind=kind,
        seller="seller_id",
        product=None,
        day=_day(window, "created_at"),
        key=None,
        counts={"transferred": Sum("amount")},
    )


def _sources(scope: Scope, window: Window) -> list[QuerySet[Any]]:
    """Views and paid orders (and paid units) by referring site, utm tag and buyer country.

    Rows with a product are per product; rows without are the scope's
    total (orders counted once however many of its products they hold).
    The shop-wide book keeps totals only.
    """
    readers = []
    views = _views(scope, window)
    items = _items(scope, window)
    view_day = _day(window, "at")
    sale_day = _day(window, "order__paid_at")
    by_product = not scope.is_shop
    for kind, column in VIEW_SOURCES.items():
        readers.append(
            select_facts(
                views,
                kind=f"view_source:{kind}",
                seller=None,
                product="product_id" if by_product else None,
                day=view_day,
                key=column,
                counts={"views": Count("pk")},
            )
        )
    # Paid orders and paid units, as on the headline cards: a free claim is no sale.
    sale_counts = {
        "orders": _paid_orders(),
        "units": Count("pk", filter=PAID),
        "gross": Sum(_gross()),
    }
    for kind, column in ORDER_SOURCES.items():
        if by_product:
            readers.append(
                select_facts(
                    items,
                    kind=f"order_source:{kind}",
                    seller=None,
                    product="product_id",
                    day=sale_day,
                    key=column,
                    counts=sale_counts,
                )
            )
        if scope.product_id is None:
            readers.append(
                select_facts(
                    items,
                    kind=f"order_source:{kind}",
                    seller=None,
                    product=None,
                    day=sale_day,
                    key=column,
                    counts=sale_counts,
                )
            )
    return readers


def owed_reader(scope: Scope) -> QuerySet[Any]:
    """What the ledger still owes (unsettled entries), carried in the ``transferred`` column."""
    entries = LedgerEntry.objects.filter(transfer__isnull=True, currency=settings.STORE_CURRENCY)
    if scope.seller_id is not None:
        entries = entries.filter(seller_id=scope.seller_id)
    return select_facts(
        entries,
        kind="owed",
        seller=None,
        product=None,
        day=None,
        key=None,
        counts={"transferred": Sum("amount")},
    )


def fact_readers(scope: Scope, window: Window, *, sources: bool = True) -> list[QuerySet[Any]]:
    """Every fact of ``scope`` stamped inside ``window``, as querysets of fact rows."""
    readers = [
        *_sales(scope, window),
        *_refunds(scope, window),
        _disputes(scope, window),
        _downloads(scope, window),
        _view_counts(scope, window),
    ]
    if scope.product_id is None:
        readers.append(transfer_reader(scope, window))
    if sources:
        readers.extend(_sources(scope, window))
    return readers


# --- Reading them ----------------------------------------------------------


def union(readers: list[QuerySet[Any]]) -> QuerySet[Any]:
    first, *rest = readers
    return first.union(*rest, all=True) if rest else first


def fact_rows(readers: list[QuerySet[Any]]) -> Iterator[Fact]:
    """Run the readers as one query and yield their rows as ``Fact``s."""
    for row in union(readers):
        yield fact_from_row(row)


def fact_from_row(row: dict[str, Any]) -> Fact:
    day = row["f_day"]
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])  # a roll-up's date read raw from SQLite
    elif day is not None and not isinstance(day, date):
        day = day_from_number(int(day))  # live rows carry a day number, roll-ups a date
    return Fact(
        kind=row["f_kind"],
        seller=row["f_seller"],
        product=row["f_product"],
        day=day,
        key=row["f_key"] or "",
        counts={name: int(row[f"f_{name}"] or 0) for name in FACTS},
    )


def order_refund_facts(scope: Scope, window: Window) -> list[Fact]:
    """Whole-order refunds inside ``window``, spread over the scope's items.

    ``shop.services`` spreads such a refund over an order's items in
    proportion to what is left of each. Replaying every refund of the order
    in the order they were made gives each item's share; the last
    whole-order refund of an item then takes whatever makes the item's
    shares add up to its ``refunded_amount``, so totals are exact even where
    the database returned the items in another order than at refund time.
    One query: the orders' items, each beside each of the order's refunds.
    """
    orders = _order_refunds(scope, window).values("order_id")
    rows = (
        OrderItem.objects.filter(order_id__in=orders)
        .values(
            "pk",
            "order_id",
            "seller_id",
            "product_id",
            "unit_price",
            "tax_behavior",
            "tax_amount",
            "platform_fee",
            "refunded_amount",
            "order__refunds__pk",
            "order__refunds__item_id",
            "order__refunds__amount",
            "order__refunds__created_at",
        )
        .order_by("order_id", "order__refunds__pk", "pk")
    )
    items: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    refunds: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        items[row["order_id"]][row["pk"]] = dict(row)
        if row["order__refunds__pk"] is not None:
            refunds[row["order_id"]][row["order__refunds__pk"]] = {
                "item": row["order__refunds__item_id"],
                "amount": row["order__refunds__amount"],
                "at": row["order__refunds__created_at"],
            }
    tz = zone(window.tz)
    facts: list[Fact] = []
    for order_id, order_items in items.items():
        for refund_at, item, share in _replay(order_items, refunds[order_id]):
            if not (window.start <= refund_at < window.end):
                continue
            if scope.product_id is not None and item["product_id"] != scope.product_id:
                continue
            if scope.seller_id is not None and item["seller_id"] != scope.seller_id:
                continue
            price = _row_gross(item)
            facts.append(
                Fact(
                    kind="refund",
                    seller=item["seller_id"],
                    product=item["product_id"],
                    day=refund_at.astimezone(tz).date(),
                    key="",
                    counts={
                        "refunds": 1,
                        "refunded": share,
                        "refund_debit": share
                        * (price - item["tax_amount"] - item["platform_fee"])
                        // price,
                        "refund_vat": share * item["tax_amount"] // price,
                    },
                )
            )
    return facts


def _row_gross(item: dict[str, Any]) -> int:
    tax = item["tax_amount"] if item["tax_behavior"] == "exclusive" else 0
    return int(item["unit_price"]) + int(tax)


def _replay(
    items: dict[int, dict[str, Any]], refunds: dict[int, dict[str, Any]]
) -> Iterable[tuple[datetime, dict[str, Any], int]]:
    """(when, item, share) of each whole-order refund of one order, oldest first."""
    given = dict.fromkeys(items, 0)
    shares: list[tuple[datetime, int, int]] = []
    for refund in sorted(refunds.values(), key=lambda r: r["at"]):
        if refund["item"] is not None:
            given[refund["item"]] = given.get(refund["item"], 0) + refund["amount"]
            continue
        room = [(pk, _row_gross(items[pk]) - given[pk]) for pk in sorted(items)]
        room = [(pk, left) for pk, left in room if left > 0]
        total = sum(left for _, left in room)
        spent = 0
        for index, (pk, left) in enumerate(room):
            amount = refund["amount"]
            share = amount - spent if index == len(room) - 1 else amount * left // total
            share = min(share, left)
            spent += share
            if share > 0:
                given[pk] += share
                shares.append((refund["at"], pk, share))
    # Settle rounding against what each item actually records.
    last_share = {pk: index for index, (_, pk, _) in enumerate(shares)}
    for pk, index in last_share.items():
        drift = items[pk]["refunded_amount"] - given[pk]
        if drift:
            at, _, share = shares[index]
            shares[index] = (at, pk, share + drift)
    return [(at, items[pk], share) for at, pk, share in shares if share > 0]
