"""Daily roll-ups: closed days of facts, kept so that an all-time page reads a few thousand rows.

A book (``StatsBook``) is rolled up to the last local day that ended more
than ``GRACE`` ago, so that no transaction still in flight can add a fact to
a day already rolled up (every fact is stamped with the time it is written,
see ``shop.stats.facts``). Later days are read live by the pages, with
the same fact readers, so figures are exact whether the roll-up ran an hour
ago or never.

``python manage.py dashboard_rollup`` (or the ``dashboard_rollup_all`` task)
rolls every book forward; run it hourly or nightly. A seller who changes
timezone gets their book rebuilt on the next run (until then their pages
read the source tables); ``--rebuild`` recounts everything, for data changed
by hand.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_tasks import task

from catalog.models import Seller
from delivery.models import Download
from shop.models import LedgerEntry, OrderItem, Refund, SellerTransfer
from shop.stats.facts import (
    Fact,
    Scope,
    Window,
    fact_readers,
    fact_rows,
    order_refund_facts,
)
from shop.stats.localtime import day_start, local_date, zone
from shop.stats.models import DailySource, DailyStats, ProductView, StatsBook

log = logging.getLogger(__name__)

GRACE = timedelta(hours=1)
# Days are read in chunks: the first of CHUNK_DAYS, each next one sized from the
# last one's density to hold about CHUNK_FACTS fact rows (some 100 MiB at the peak). Long
# chunks matter on PostgreSQL, whose plan scans every order item once per chunk.
CHUNK_DAYS = 31
CHUNK_DAYS_MAX = 366
CHUNK_FACTS = 30_000
SOURCE_COUNTS = ("views", "orders", "units", "gross")

StatsKey = tuple[date | None, int | None, int | None]  # day, seller, product
SourceKey = tuple[date | None, int | None, str, str]  # day, product, kind, value


def book_scope(seller_id: int | None) -> str:
    return "shop" if seller_id is None else f"seller:{seller_id}"


def book_timezone(seller: Seller | None) -> str:
    """The timezone a book counts days in: the seller's, or the shop's own."""
    return zone(seller.timezone if seller is not None else settings.TIME_ZONE).key


def accumulate(
    facts: Iterable[Fact], scope: Scope
) -> tuple[dict[StatsKey, Counter[str]], dict[SourceKey, Counter[str]]]:
    """Fold fact rows into the rows of ``DailyStats`` and ``DailySource`` they add to.

    The roll-up writes exactly this; a page adds it to what it read from
    the roll-up. One function for both keeps them counting the same way.
    """
    stats: dict[StatsKey, Counter[str]] = defaultdict(Counter)
    sources: dict[SourceKey, Counter[str]] = defaultdict(Counter)
    per_product_only = scope.product_id is not None
    for fact in facts:
        kind, counts = fact.kind, fact.counts
        if kind.startswith(("view_source:", "order_source:")):
            source_kind = kind.split(":", 1)[1]
            counted = {name: counts[name] for name in SOURCE_COUNTS if counts[name]}
            sources[(fact.day, fact.product, source_kind, fact.key)].update(counted)
            # Views add up across products; orders come with their own totals (distinct).
            views_of_a_product = kind.startswith("view_source:") and fact.product is not None
            if views_of_a_product and not per_product_only:
                sources[(fact.day, None, source_kind, fact.key)].update(counted)
            continue
        nonzero = {name: value for name, value in counts.items() if value}
        if kind == "seller_orders":
            stats[(fact.day, fact.seller, None)]["orders"] += counts["orders"]
        elif kind == "shop_orders":
            stats[(fact.day, None, None)]["orders"] += counts["orders"]
        elif kind in ("sale", "refund", "dispute", "download", "view", "transfer"):
            if fact.product is not None:
                stats[(fact.day, fact.seller, fact.product)].update(nonzero)
            if per_product_only:
                continue
            # Distinct orders of a seller or of the shop come from their own rows.
            rolled = {name: value for name, value in nonzero.items() if name != "orders"}
            stats[(fact.day, fact.seller, None)].update(rolled)
            if scope.is_shop:
                stats[(fact.day, None, None)].update(rolled)
    return stats, sources


def read_facts(scope: Scope, window: Window) -> list[Fact]:
    """Every fact of ``scope`` in ``window``: one query (two when whole-order refunds are in it)."""
    facts = list(fact_rows(fact_readers(scope, window)))
    if any(f.kind == "order_refunds" and f.counts["refunds"] for f in facts):
        facts.extend(order_refund_facts(scope, window))
    return facts


def _first_fact(scope: Scope) -> datetime | None:
    """The oldest stamped fact of the scope, to know where a first roll-up starts."""
    seller = {} if scope.seller_id is None else {"seller_id": scope.seller_id}
    candidates = [
        OrderItem.objects.filter(**seller).aggregate(t=Min("order__paid_at"))["t"],
        Refund.objects.filter(
            **({} if scope.seller_id is None else {"order__items__seller_id": scope.seller_id})
        ).aggregate(t=Min("created_at"))["t"],
        LedgerEntry.objects.filter(**seller).aggregate(t=Min("created_at"))["t"],
        SellerTransfer.objects.filter(**seller).aggregate(t=Min("created_at"))["t"],
        ProductView.objects.filter(**seller).aggregate(t=Min("at"))["t"],
        Download.objects.filter(
            **({} if scope.seller_id is None else {"asset__product__seller_id": scope.seller_id})
        ).aggregate(t=Min("at"))["t"],
    ]
    found = [t for t in candidates if t is not None]
    return min(found) if found else None


def _write(book: StatsBook, facts: list[Fact], scope: Scope) -> int:
    stats, sources = accumulate(facts, scope)
    DailyStats.objects.bulk_create(
        (
            DailyStats(book=book, day=day, seller_id=seller, product_id=product, **counts)
            for (day, seller, product), counts in stats.items()
            if day is not None and any(counts.values())
        ),
        batch_size=2000,
    )
    DailySource.objects.bulk_create(
        (
            DailySource(book=book, day=day, product_id=product, kind=kind, value=value, **counts)
            for (day, product, kind, value), counts in sources.items()
            if day is not None and any(counts.values())
        ),
        batch_size=2000,
    )
    return len(stats)


def next_chunk_days(days: int, facts: int) -> int:
    """How many days to read next, after ``days`` days gave ``facts`` fact rows."""
    return max(1, min(CHUNK_DAYS_MAX, days * CHUNK_FACTS // max(facts, 1)))


def stats_book_roll(
    *, seller: Seller | None, now: datetime | None = None, rebuild: bool = False
) -> StatsBook:
    """Bring one book up to the last closed day; rebuild it when its timezone changed.

    Each chunk of days is written in a transaction of its own that moves
    ``rolled_until`` on: an interrupted run resumes where it stopped, and on
    SQLite other writers wait for one chunk at most, never a whole rebuild.
    Pages stay exact in between (days before ``rolled_until`` are rolled up,
    the rest is read live).
    """
    now = now or timezone.now()
    tz_name = book_timezone(seller)
    tz = zone(tz_name)
    scope = Scope(seller_id=seller.pk if seller is not None else None)
    target = local_date(now - GRACE, tz)
    with transaction.atomic():
        book, _ = StatsBook.objects.select_for_update().get_or_create(
            scope=book_scope(scope.seller_id),
            defaults={"seller": seller, "timezone": tz_name},
        )
        if rebuild or book.timezone != tz_name or book.rolled_until is None:
            DailyStats.objects.filter(book=book).delete()
            DailySource.objects.filter(book=book).delete()
            first = _first_fact(scope)
            book.timezone = tz_name
            # Nothing happened before the first fact: those days count as rolled up.
            book.rolled_until = local_date(first, tz) if first is not None else target
        else:
            # Rows at or after `rolled_until` would only be there after data changed by hand.
            DailyStats.objects.filter(book=book, day__gte=book.rolled_until).delete()
            DailySource.objects.filter(book=book, day__gte=book.rolled_until).delete()
        book.built_at = now
        book.save(update_fields=["timezone", "rolled_until", "built_at"])
    day, days = book.rolled_until, CHUNK_DAYS
    assert day is not None  # set just above
    while day < target:
        until = min(day + timedelta(days=days), target)
        with transaction.atomic():
            book = StatsBook.objects.select_for_update().get(pk=book.pk)
            if book.rolled_until != day or book.timezone != tz_name:
                return book  # another run moved this book on (or started it again)
            window = Window(tz=tz_name, start=day_start(day, tz), end=day_start(until, tz))
            facts = read_facts(scope, window)
            _write(book, facts, scope)
            book.rolled_until = until
            book.save(update_fields=["rolled_until"])
        days = next_chunk_days((until - day).days, len(facts))
        day = until
    return book


def stats_books_roll(*, now: datetime | None = None, rebuild: bool = False) -> int:
    """Roll the shop's book and every seller's; each in its own transaction."""
    rolled = 0
    stats_book_roll(seller=None, now=now, rebuild=rebuild)
    for seller in Seller.objects.order_by("pk").iterator():
        stats_book_roll(seller=seller, now=now, rebuild=rebuild)
        rolled += 1
    # Books of sellers that are gone (their rows cascade) leave nothing behind.
    return rolled + 1


@task()
def dashboard_rollup_all() -> None:
    stats_books_roll()
