"""What the dashboard pages show: a period, its figures, series, tables.

A page reads at most three queries of figures, whatever the data size:

1. the book (which local days are rolled up, in which timezone);
2. one ``UNION ALL`` over the roll-ups for the closed days of the period;
3. one ``UNION ALL`` over the source tables for the days not rolled up yet
   (normally just today), plus the payout figures;

and a fourth only when a refund made for a whole order at the provider
falls into that live part and must be spread over items.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import CharField, DateField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast
from django.utils import dateformat
from django.utils.translation import gettext, gettext_lazy

from catalog.models import Product, Seller
from shop.models import OrderItem
from shop.stats.facts import (
    Fact,
    Scope,
    Window,
    fact_readers,
    order_refund_facts,
    owed_reader,
    select_facts,
    transfer_reader,
    union,
)
from shop.stats.localtime import day_start, offset_changes, zone
from shop.stats.models import FACTS, DailySource, DailyStats, StatsBook
from shop.stats.rollups import SOURCE_COUNTS, accumulate, book_scope
from shop.stats.sqlcache import cached_facts, window_changes, window_values

# Facts older than this are not expected; it bounds the timezone arithmetic of unbounded reads.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

RANGES = {
    "7d": gettext_lazy("Last 7 days"),
    "30d": gettext_lazy("Last 30 days"),
    "12m": gettext_lazy("Last 12 months"),
    "all": gettext_lazy("All time"),
    "custom": gettext_lazy("Custom"),
}
GROUPINGS = {
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week"),
    "month": gettext_lazy("Month"),
}


class PeriodError(ValueError):
    """A range or date a person typed that cannot be shown; the message says why."""


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    first: date | None  # None: from the first fact on
    last: date
    by: str

    @property
    def by_label(self) -> str:
        """The grouping as people read it ("Week", "Semaine")."""
        return str(GROUPINGS.get(self.by, self.by))

    @property
    def label(self) -> str:
        if self.key == "custom" and self.first is not None:
            first, last = (
                dateformat.format(self.first, "j M Y"),
                dateformat.format(self.last, "j M Y"),
            )
            return f"{first} – {last}"
        return str(RANGES[self.key])

    @property
    def days(self) -> int | None:
        return None if self.first is None else (self.last - self.first).days + 1

    def previous(self) -> Period | None:
        """The period of the same length just before, to compare with."""
        if self.first is None:
            return None
        if self.key == "12m":
            first = _add_months(self.first, -12)
            return Period(self.key, first, self.first - timedelta(days=1), self.by)
        length = (self.last - self.first).days + 1
        return Period(
            self.key,
            self.first - timedelta(days=length),
            self.first - timedelta(days=1),
            self.by,
        )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _default_grouping(first: date | None, last: date) -> str:
    if first is None:
        return "month"
    span = (last - first).days + 1
    if span <= 62:
        return "day"
    if span <= 190:
        return "week"
    return "month"


def _parse_day(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            gettext("Enter the %(label)s day as YYYY-MM-DD, like 2025-03-31.") % {"label": label}
        ) from None


def period_from(params: Mapping[str, str], today: date) -> Period:
    """The period asked for in a query string (``range``, ``from``, ``to``, ``by``)."""
    key = (params.get("range") or "").strip() or "30d"
    if key not in RANGES:
        raise PeriodError(
            gettext("Choose 7 days, 30 days, 12 months, all time, or your own dates.")
        )
    first: date | None
    last = today
    if key == "7d":
        first = today - timedelta(days=6)
    elif key == "30d":
        first = today - timedelta(days=29)
    elif key == "12m":
        first = _add_months(today.replace(day=1), -11)
    elif key == "all":
        first = None
    else:
        if not (params.get("from") or "").strip() or not (params.get("to") or "").strip():
            raise PeriodError(gettext("Enter both the first and the last day of the period."))
        first = _parse_day(params.get("from", ""), "first")
        last = _parse_day(params.get("to", ""), "last")
        if first > last:
            raise PeriodError(gettext("The first day comes after the last one."))
        if first > today:
            raise PeriodError(gettext("That period has not started yet."))
        if first.year < EARLIEST.year:
            raise PeriodError(
                gettext("Periods start in %(year)s at the earliest.") % {"year": EARLIEST.year}
            )
        last = min(last, today)
    by = (params.get("by") or "").strip()
    if by and by not in GROUPINGS:
        raise PeriodError(gettext("Group the charts by day, week or month."))
    return Period(key, first, last, by or _default_grouping(first, last))


@dataclass(slots=True)
class Dashboard:
    """Everything the figures part of a page needs, counted exactly."""

    scope: Scope
    period: Period
    timezone: str
    days: dict[date, Counter[str]]
    current: Counter[str]
    previous: Counter[str] | None
    products: dict[tuple[int | None, int], Counter[str]] = field(default_factory=dict)
    sellers: dict[int, Counter[str]] = field(default_factory=dict)
    sources: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    transferred: int = 0
    owed: int = 0
    rolled_until: date | None = None
    queries_note: str = ""

    @property
    def first_day(self) -> date:
        """Where charts start: the period's first day, or the first day with a fact."""
        if self.period.first is not None:
            return self.period.first
        active = [day for day, counts in self.days.items() if any(counts.values())]
        return min(active) if active else self.period.last


def book_for(scope: Scope, tz_name: str) -> StatsBook | None:
    """The roll-up book of a seller (or the shop), if it counts days in ``tz_name``."""
    book = StatsBook.objects.filter(scope=book_scope(scope.seller_id)).first()
    if book is None or book.timezone != tz_name or book.rolled_until is None:
        return None
    return book


def _level(scope: Scope) -> Q:
    """The roll-up rows that hold the scope's own totals."""
    if scope.product_id is not None:
        return Q(product_id=scope.product_id)
    if scope.seller_id is not None:
        return Q(seller_id=scope.seller_id, product__isnull=True)
    return Q(seller__isnull=True, product__isnull=True)


def _days(first: date | None, last: date) -> Q:
    return Q(day__lte=last) if first is None else Q(day__gte=first, day__lte=last)


def _sums(names: tuple[str, ...] = FACTS) -> dict[str, Any]:
    return {name: Sum(name) for name in names}


def _no_day() -> Cast:
    # Typed, as PostgreSQL refuses to UNION a NULL of unknown type with the dates of "day" rows.
    return Cast(Value(None), output_field=DateField())


def _closed_readers(v: Mapping[str, Any]) -> QuerySet[Any]:
    """The roll-ups of one book: the scope's days, its all-time payouts, products, sources.

    ``v`` holds ``book``, ``seller``/``product`` (the scope), ``first`` (None:
    all time) and ``upto`` (the last day to read), ``period_first`` (where
    the period's tables start); see ``shop.stats.sqlcache``.
    """
    scope = Scope(seller_id=v["seller"], product_id=v["product"])
    stats = DailyStats.objects.filter(book_id=v["book"])
    readers = [
        select_facts(
            stats.filter(_level(scope), _days(v["first"], v["upto"])),
            kind="day",
            day=F("day"),
            counts=_sums(),
        ),
        select_facts(
            stats.filter(_level(scope)),
            kind="paid_out",
            day=_no_day(),
            counts=_sums(("transferred",)),
        ),
    ]
    in_period = _days(v["period_first"], v["upto"])
    if scope.product_id is None:
        products = stats.filter(in_period, product__isnull=False)
        if scope.seller_id is not None:
            products = products.filter(seller_id=scope.seller_id)
        readers.append(
            select_facts(
                products,
                kind="product",
                seller="seller_id",
                product="product_id",
                day=_no_day(),
                counts=_sums(),
            )
        )
    if scope.is_shop:
        readers.append(
            select_facts(
                stats.filter(in_period, seller__isnull=False, product__isnull=True),
                kind="seller",
                seller="seller_id",
                day=_no_day(),
                counts=_sums(),
            )
        )
    sources = DailySource.objects.filter(in_period, book_id=v["book"])
    if scope.product_id is None:
        sources = sources.filter(product__isnull=True)  # the totals
    else:
        sources = sources.filter(product_id=scope.product_id)
    readers.append(
        select_facts(
            sources,
            kind=Cast(F("kind"), output_field=CharField()),
            day=_no_day(),
            key="value",
            counts=_sums(SOURCE_COUNTS),
        )
    )
    return union(readers)


def _live_readers(v: Mapping[str, Any], *, live: int, paid: int) -> QuerySet[Any]:
    """Facts not rolled up yet (``live`` offsets; 0: none in the period) and the payouts."""
    scope = Scope(seller_id=v["seller"], product_id=v["product"])
    readers: list[QuerySet[Any]] = []
    if live:
        window = Window("UTC", v["start"], v["end"], window_changes("", v, live))
        readers.extend(fact_readers(scope, window))
    if scope.product_id is None:
        paid_window = Window("UTC", v["p_start"], v["p_end"], window_changes("p_", v, paid))
        readers.append(transfer_reader(scope, paid_window, kind="paid_out"))
        readers.append(owed_reader(scope))
    return union(readers)


def dashboard_read(
    *, scope: Scope, tz_name: str, period: Period, now: datetime, book: StatsBook | None
) -> Dashboard:
    """The figures of ``scope`` over ``period`` (and the one before), roll-ups plus live facts."""
    tz = zone(tz_name)
    previous = period.previous()
    first = previous.first if previous is not None else period.first
    end = day_start(period.last + timedelta(days=1), tz)
    rolled_until = book.rolled_until if book is not None else None
    live_from = day_start(rolled_until, tz) if rolled_until is not None else EARLIEST

    days: dict[date, Counter[str]] = defaultdict(Counter)
    products: dict[tuple[int | None, int], Counter[str]] = defaultdict(Counter)
    sellers: dict[int, Counter[str]] = defaultdict(Counter)
    sources: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    transferred = owed = 0

    last_closed = rolled_until - timedelta(days=1) if rolled_until is not None else None
    if book is not None and last_closed is not None:
        closed = {
            "book": book.pk,
            "seller": scope.seller_id,
            "product": scope.product_id,
            "first": first,
            "upto": min(period.last, last_closed),
            "period_first": period.first,
        }
        for fact in cached_facts(("closed",), _closed_readers, closed):
            if fact.kind == "day" and fact.day is not None:
                days[fact.day].update(fact.counts)
            elif fact.kind == "paid_out":
                transferred += fact.counts["transferred"]
            elif fact.kind == "product" and fact.product is not None:
                products[(fact.seller, fact.product)].update(fact.counts)
            elif fact.kind == "seller" and fact.seller is not None:
                sellers[fact.seller].update(fact.counts)
            elif fact.kind in DailySource.Kind.values:
                sources[(fact.kind, fact.key)].update(
                    {name: fact.counts[name] for name in SOURCE_COUNTS}
                )

    live_start = max(live_from, day_start(first, tz)) if first is not None else live_from
    live = Window(tz=tz_name, start=live_start, end=end)
    values: dict[str, Any] = {"seller": scope.seller_id, "product": scope.product_id}
    live_count = paid_count = 0
    if live_start < end:
        live_changes = live.offsets()
        live_count = len(live_changes)
        values.update(window_values("", live_start, end, live_changes))
    if scope.product_id is None:
        paid_end = max(now, live_from) + timedelta(days=1)
        paid_changes = offset_changes(tz_name, live_from, paid_end)
        paid_count = len(paid_changes)
        values.update(window_values("p_", live_from, paid_end, paid_changes))
    facts: list[Fact] = []
    if live_count or paid_count:
        facts = list(
            cached_facts(
                ("live", live_count, paid_count),
                partial(_live_readers, live=live_count, paid=paid_count),
                values,
            )
        )
    if any(f.kind == "order_refunds" and f.counts["refunds"] for f in facts):
        facts.extend(order_refund_facts(scope, live))
    for fact in facts:
        if fact.kind == "paid_out":
            transferred += fact.counts["transferred"]
        elif fact.kind == "owed":
            owed += fact.counts["transferred"]
    stats, live_sources = accumulate(
        (f for f in facts if f.kind not in ("paid_out", "owed")), scope
    )
    level = _level_key(scope)
    in_period = _in_period(period)
    for (day, seller, product), counts in stats.items():
        if day is None:
            continue
        if (seller, product) == level:
            days[day].update(counts)
        if not in_period(day):
            continue
        if scope.product_id is None and product is not None:
            products[(seller, product)].update(counts)
        if scope.is_shop and seller is not None and product is None:
            sellers[seller].update(counts)
    for (day, product, kind, value), counts in live_sources.items():
        if day is not None and in_period(day) and product == scope.product_id:
            sources[(kind, value)].update(counts)

    current = _total(days, period.first, period.last)
    before = _total(days, previous.first, previous.last) if previous is not None else None
    return Dashboard(
        scope=scope,
        period=period,
        timezone=tz_name,
        days=dict(days),
        current=current,
        previous=before,
        products=dict(products),
        sellers=dict(sellers),
        sources=dict(sources),
        transferred=transferred,
        owed=owed,
        rolled_until=rolled_until,
    )


def _level_key(scope: Scope) -> tuple[int | None, int | None]:
    if scope.product_id is not None:
        return (scope.seller_id, scope.product_id)
    return (scope.seller_id, None)


def _in_period(period: Period) -> Any:
    def inside(day: date) -> bool:
        return day <= period.last and (period.first is None or day >= period.first)

    return inside


def _total(days: Mapping[date, Counter[str]], first: date | None, last: date) -> Counter[str]:
    total: Counter[str] = Counter()
    for day, counts in days.items():
        if day <= last and (first is None or day >= first):
            total.update(counts)
    return total


# --- Turning counters into the figures people read ---------------------------


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def _rounded(value: Decimal | None) -> int | None:
    return None if value is None else int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Figures:
    """The headline numbers of one period, in minor units and counts."""

    gross: int
    vat: int  # VAT in the gross, less the VAT given back with refunds
    net_sales: int  # gross less VAT
    refunded: int
    fees: int  # the platform's fee, less what it gave back with refunds
    dispute_debit: int
    net: int
    orders: int  # orders with an item that cost something: free claims are not orders
    units: int  # every item, free claims included
    paid_units: int  # units that cost something: sales
    free_units: int  # free products and zero prices claimed: downloads, not revenue
    refunds: int
    disputes: int
    downloads: int
    views: int
    conversion: Decimal | None  # purchases per product page view
    average_price: int | None  # per unit that cost something
    pwyw_units: int
    pwyw_average: int | None
    pwyw_above: int | None  # average above the minimum
    pwyw_above_ratio: Decimal | None  # paid / minimum - 1

    @classmethod
    def of(cls, counts: Mapping[str, int], *, per_product: bool = False) -> Figures:
        c = Counter(counts)
        fee_given_back = c["refunded"] - c["refund_debit"] - c["refund_vat"]
        # Sales per view: paid units of a product, paid orders of a seller or the shop.
        purchases = c["paid_units"] if per_product else c["orders"]
        return cls(
            gross=c["gross"],
            vat=c["vat"] - c["refund_vat"],
            net_sales=c["gross"] - c["vat"],
            refunded=c["refunded"],
            fees=c["fees"] - fee_given_back,
            dispute_debit=c["dispute_debit"],
            net=c["gross"] - c["vat"] - c["fees"] - c["refund_debit"] - c["dispute_debit"],
            orders=c["orders"],
            units=c["units"],
            paid_units=c["paid_units"],
            free_units=c["units"] - c["paid_units"],
            refunds=c["refunds"],
            disputes=c["disputes"],
            downloads=c["downloads"],
            views=c["views"],
            conversion=_ratio(purchases, c["views"]),
            average_price=_rounded(_ratio(c["gross"], c["paid_units"])),
            pwyw_units=c["pwyw_units"],
            pwyw_average=_rounded(_ratio(c["pwyw_paid"], c["pwyw_units"])),
            pwyw_above=_rounded(_ratio(c["pwyw_paid"] - c["pwyw_minimum"], c["pwyw_units"])),
            pwyw_above_ratio=(
                None
                if not c["pwyw_minimum"]
                else Decimal(c["pwyw_paid"]) / Decimal(c["pwyw_minimum"]) - 1
            ),
        )


def change(current: int | Decimal | None, previous: int | Decimal | None) -> Decimal | None:
    """Relative change against the previous period; None when there is nothing to compare."""
    if current is None or previous is None or not previous:
        return None
    return (Decimal(current) - Decimal(previous)) / abs(Decimal(previous))


# --- Series for the charts ----------------------------------------------------


def bucket_start(day: date, by: str) -> date:
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, by: str) -> date:
    if by == "week":
        return start + timedelta(days=7)
    if by == "month":
        return _add_months(start, 1)
    return start + timedelta(days=1)


def series(dashboard: Dashboard) -> list[tuple[date, Counter[str]]]:
    """The period's counters per day, week or month, every bucket present (zeros included)."""
    by = dashboard.period.by
    first, last = dashboard.first_day, dashboard.period.last
    buckets: dict[date, Counter[str]] = {}
    cursor = bucket_start(first, by)
    while cursor <= last:
        buckets[cursor] = Counter()
        cursor = _next_bucket(cursor, by)
    for day, counts in dashboard.days.items():
        if first <= day <= last:
            buckets[bucket_start(day, by)].update(counts)
    return list(buckets.items())


# --- Lists beside the figures ---------------------------------------------------------


def recent_sales(scope: Scope, *, limit: int = 10, now: datetime | None = None) -> list[OrderItem]:
    """The scope's latest paid sales, newest first; free claims are no sales.

    One query over the last 30 days, which the index on ``Order.paid_at``
    keeps short however big the shop; a second, unbounded one only for a
    scope with fewer sales than that in the month.
    """
    items = OrderItem.objects.filter(
        order__paid_at__isnull=False, order__currency=settings.STORE_CURRENCY, unit_price__gt=0
    )
    if scope.product_id is not None:
        items = items.filter(product_id=scope.product_id)
    elif scope.seller_id is not None:
        items = items.filter(seller_id=scope.seller_id)
    newest = items.select_related("order", "seller").order_by("-order__paid_at", "-pk")
    month_ago = (now or datetime.now(UTC)) - timedelta(days=30)
    found = list(newest.filter(order__paid_at__gte=month_ago)[:limit])
    if len(found) < limit:
        found = list(newest[:limit])
    return found


def seller_products(seller_id: int) -> dict[int, dict[str, Any]]:
    """The seller's products for the per-product table, by id (one query)."""
    return {
        row["pk"]: dict(row)
        for row in Product.objects.filter(seller_id=seller_id)
        .order_by("title")
        .values("pk", "title", "status", "pricing")
    }


def shop_names(
    dashboard: Dashboard, *, limit: int = 20
) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """Titles of the shop's busiest products and the names of its sellers (two queries)."""
    busiest = sorted(
        dashboard.products.items(), key=lambda item: (-item[1]["gross"], -item[1]["units"])
    )[:limit]
    products = {
        row["pk"]: dict(row)
        for row in Product.objects.filter(pk__in=[pk for (_, pk), _ in busiest]).values(
            "pk", "title", "status", "pricing", "seller__display_name"
        )
    }
    sellers = dict(
        Seller.objects.filter(pk__in=list(dashboard.sellers)).values_list("pk", "display_name")
    )
    return products, sellers
