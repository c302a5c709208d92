"""The sales dashboard counts exactly: a small shop with known sales, every figure checked.

The shop is built through the real services at controlled times (the clock
is ``django.utils.timezone.now``), product views through real page requests.
Its seller lives in Europe/Paris (UTC+1 in March 2025), so a sale at 23:30
UTC belongs to the next day, and the shop itself counts in UTC.

Timeline (UTC) and what the seller "paris" should see for the last 7 days
(Paris days 19–25 March 2025; previous period 12–18 March):

    12 Mar 12:00  view of A from news.example          previous period
    15 Mar 10:00  O0: A 10.00                            previous period
    18 Mar 23:30  O1: A 10.00 (blog, newsletter/spring, FR)   Paris 19 Mar
    19 Mar 08:00  view of A from blog, newsletter/spring; download of O1's A
    19 Mar 08:10  download again: a resume, not counted
    19 Mar 09:00  view of B, newsletter
    19 Mar 10:00  O2: B pay-what-you-want 8.00 (min 5.00, newsletter, DE)
    19 Mar 23:30  view of A, direct                      Paris 20 Mar
    20 Mar 12:00  view of B from blog
    20 Mar 22:59  O3: A with code -10 % (9.00) + B 12.00 (blog, FR)   Paris 20 Mar
    20 Mar 23:10  download of O1's A                     Paris 21 Mar
    21 Mar 09:00  O4: C, free (a free download: no order, no sale)
    21 Mar 10:00  view of E, direct; transfer of 19.00 (O0 and O1's credits)
    22 Mar 12:00  O5: A 10.00 + D 20.00 of another seller (US); view of D; download of O3's B
    23 Mar 09:00  refund of 3.00 on O1's A
    24 Mar 08:00  dispute of O2
    24 Mar 12:00  three views of A, direct (plus a bot, a prefetch, the seller)
    25 Mar 08:00  Stripe refunds 10.00 of O5: 3.33 on A, 6.67 on D
    25 Mar 10:00  now
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.attribution import Attribution
from catalog.models import Asset, Product, Seller
from delivery.services import download_record
from shop.models import LedgerEntry, Order, OrderItem, SellerTransfer
from shop.services import (
    OrderLine,
    discount_code_create,
    order_create,
    order_dispute,
    order_fulfil,
    order_item_refund,
    order_refund_record,
)
from shop.stats import rollups
from shop.stats.facts import Scope
from shop.stats.rollups import stats_books_roll
from shop.stats.selectors import (
    Dashboard,
    Figures,
    book_for,
    dashboard_read,
    period_from,
)
from tests.factories import ProductFactory, SellerFactory

NOW = datetime(2025, 3, 25, 10, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def at(text: str) -> datetime:
    """'03-19 23:30' in March 2025, UTC."""
    return datetime.fromisoformat(f"2025-{text}:00+00:00")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def set(self, when: datetime) -> None:
        self.now = when


def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Time under the test's control: every timezone.now() (services, auto_now_add) reads it."""
    fake = Clock()
    monkeypatch.setattr(timezone, "now", lambda: fake.now)
    return fake


@dataclass
class Shop:
    paris: Seller
    other: Seller
    a: Product
    b: Product
    c: Product
    d: Product
    e: Product
    orders: dict[str, Order]


def _buy(
    clock: Clock,
    when: datetime,
    lines: list[OrderLine],
    *,
    key: str,
    country: str = "",
    code: str = "",
    source: Attribution | None = None,
) -> Order:
    clock.set(when)
    order = order_create(
        lines=lines,
        email=f"{key}@example.com",
        checkout_key=f"dashboard-test-{key}",
        code=code,
        provider="test",
        attribution=source,
    )
    if order.status == Order.Status.PENDING:
        order = order_fulfil(order_id=order.pk, payment_id=f"pi_{key}", country=country)
    return order


def _view(
    client: Client,
    clock: Clock,
    when: datetime,
    product: Product,
    *,
    query: str = "",
    referer: str = "",
    agent: str = BROWSER,
    **headers: str,
) -> None:
    clock.set(when)
    extra = {"HTTP_USER_AGENT": agent, **headers}
    if referer:
        extra["HTTP_REFERER"] = referer
    response = client.get(product.get_absolute_url() + query, **extra)
    assert response.status_code == 200


def _download(clock: Clock, when: datetime, item: OrderItem) -> None:
    clock.set(when)
    assert item.entitlement is not None
    download_record(
        entitlement=item.entitlement,
        asset=item.product.assets.get(),
        ip="198.51.100.7",
        user_agent=BROWSER,
        range_header="",
    )


def _item(order: Order, product: Product) -> OrderItem:
    return order.items.select_related("entitlement", "product").get(product=product)


def deliverable(product: Product) -> Asset:
    """A file row to download; no bytes needed, as downloads here are only logged."""
    return Asset.objects.create(
        product=product,
        file=f"assets/{product.slug}.pdf",
        original_filename=f"{product.slug}.pdf",
        size_bytes=1000,
        mime_type="application/pdf",
    )


def build_shop(
    clock: Clock, client: Client, *, roll_at: datetime | None = None, settings: object = None
) -> Shop:
    """The shop of the module docstring; with ``roll_at``, roll-ups are built at that moment."""
    clock.set(at("03-01 09:00"))
    paris = SellerFactory(
        slug="paris", display_name="Atelier Paris", timezone="Europe/Paris", currency="EUR"
    )
    other = SellerFactory(slug="other", display_name="Other", timezone="UTC")
    a = ProductFactory(seller=paris, slug="ete", title="Été à Paris", price=1000)
    b = ProductFactory(
        seller=paris,
        slug="nuits",
        title="Nuits",
        pricing=Product.Pricing.PWYW,
        price=500,
        suggested_price=800,
    )
    c = ProductFactory(seller=paris, slug="free", title="Carnet", pricing=Product.Pricing.FREE)
    d = ProductFactory(seller=other, slug="d", title="Other book", price=2000)
    e = ProductFactory(seller=paris, slug="unsold", title="Épreuves", price=1500)
    for product in (a, b, c, d):
        deliverable(product)
    discount_code_create(
        seller_id=paris.pk, code="SPRING10", kind="percent", value_text="10", currency="EUR"
    )
    rolled = False

    def tick(when: datetime) -> datetime:
        nonlocal rolled
        if roll_at is not None and not rolled and when > roll_at:
            stats_books_roll(now=roll_at)
            rolled = True
        return when

    orders: dict[str, Order] = {}
    _view(client, clock, tick(at("03-12 12:00")), a, referer="https://news.example/list")
    orders["O0"] = _buy(clock, tick(at("03-15 10:00")), [OrderLine(a)], key="o0", country="FR")
    orders["O1"] = _buy(
        clock,
        tick(at("03-18 23:30")),
        [OrderLine(a)],
        key="o1",
        country="FR",
        source=Attribution(ref="blog.example", utm_source="newsletter", utm_campaign="spring"),
    )
    _view(
        client,
        clock,
        tick(at("03-19 08:00")),
        a,
        query="?utm_source=newsletter&utm_campaign=spring",
        referer="https://www.blog.example/post/1",
    )
    _download(clock, tick(at("03-19 08:00")), _item(orders["O1"], a))
    _download(clock, tick(at("03-19 08:10")), _item(orders["O1"], a))
    _view(client, clock, tick(at("03-19 09:00")), b, query="?utm_source=newsletter")
    orders["O2"] = _buy(
        clock,
        tick(at("03-19 10:00")),
        [OrderLine(b, offered="8.00")],
        key="o2",
        country="DE",
        source=Attribution(utm_source="newsletter"),
    )
    _view(client, clock, tick(at("03-19 23:30")), a)
    _view(client, clock, tick(at("03-20 12:00")), b, referer="https://blog.example/")
    orders["O3"] = _buy(
        clock,
        tick(at("03-20 22:59")),
        [OrderLine(a), OrderLine(b, offered="12")],
        key="o3",
        country="FR",
        code="spring10",
        source=Attribution(ref="blog.example"),
    )
    _download(clock, tick(at("03-20 23:10")), _item(orders["O1"], a))
    orders["O4"] = _buy(clock, tick(at("03-21 09:00")), [OrderLine(c)], key="o4")
    _view(client, clock, tick(at("03-21 10:00")), e)
    clock.set(at("03-21 10:00"))
    transfer = SellerTransfer.objects.create(
        seller=paris, amount=1900, currency="EUR", stripe_transfer_id="tr_paris_1"
    )
    LedgerEntry.objects.filter(
        item__order__in=[orders["O0"], orders["O1"]], kind=LedgerEntry.Kind.SALE
    ).update(transfer=transfer)
    orders["O5"] = _buy(
        clock, tick(at("03-22 12:00")), [OrderLine(a), OrderLine(d)], key="o5", country="US"
    )
    _view(client, clock, tick(at("03-22 12:00")), d)
    _download(clock, tick(at("03-22 12:00")), _item(orders["O3"], b))
    clock.set(tick(at("03-23 09:00")))
    order_item_refund(item_id=_item(orders["O1"], a).pk, amount=300, reason="Asked nicely")
    clock.set(tick(at("03-24 08:00")))
    order_dispute(order_id=orders["O2"].pk, reason="Fraudulent")
    for _ in range(3):
        _view(client, clock, tick(at("03-24 12:00")), a)
    _view(client, clock, tick(at("03-24 12:00")), a, agent="Googlebot/2.1")
    _view(client, clock, tick(at("03-24 12:00")), a, HTTP_SEC_PURPOSE="prefetch")
    client.force_login(paris.user)
    _view(client, clock, tick(at("03-24 12:00")), a)  # the seller on their own page
    client.logout()
    clock.set(tick(at("03-25 08:00")))
    order_refund_record(
        order_id=orders["O5"].pk, refunded_total=1000, provider_refund_id="re_o5", full=False
    )
    clock.set(tick(NOW))
    if roll_at is not None and not rolled:
        stats_books_roll(now=roll_at)
    return Shop(
        paris, other, a, b, c, d, e, {k: Order.objects.get(pk=v.pk) for k, v in orders.items()}
    )


def read(
    scope: Scope, tz: str, params: dict[str, str] | None = None, now: datetime = NOW
) -> Dashboard:
    period = period_from(params or {"range": "7d"}, now.astimezone(_zone(tz)).date())
    return dashboard_read(scope=scope, tz_name=tz, period=period, now=now, book=book_for(scope, tz))


def _zone(tz: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


ROLLS: dict[str, datetime | None] = {
    "live only": None,
    "rolled mid-way": at("03-21 12:00"),
    "rolled to date": NOW,
    "rolled a day at a time": NOW,  # chunks of one day after the first (CHUNK_FACTS = 1)
}


@pytest.fixture(scope="module", params=list(ROLLS), ids=list(ROLLS))
def shop(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Shop]:
    """The shop, built once per way of rolling up and shared by the module's tests.

    Each test still runs in its own savepoint (``db``); the whole shop is
    rolled back when the module is done with it.
    """
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        fake = Clock()
        patch.setattr(timezone, "now", lambda: fake.now)
        if request.param == "rolled a day at a time":
            patch.setattr(rollups, "CHUNK_DAYS", 1)
            patch.setattr(rollups, "CHUNK_FACTS", 1)
        with transaction.atomic():
            yield build_shop(fake, Client(), roll_at=ROLLS[request.param])
            transaction.set_rollback(True)


# --- The seller's figures -----------------------------------------------------------


def test_seller_headline_figures_are_exact(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk), "Europe/Paris")
    now = Figures.of(board.current)
    assert board.period.first == date(2025, 3, 19) and board.period.last == date(2025, 3, 25)
    # O1, O2, O3, O5: O1 paid at 23:30 UTC on the 18th is the 19th in Paris; O4 is a free claim.
    assert now.orders == 4
    assert now.units == 6
    assert (now.paid_units, now.free_units) == (5, 1)
    assert now.gross == 1000 + 800 + 900 + 1200 + 0 + 1000
    assert now.refunded == 300 + 333  # O5's 10.00 spread: 3.33 on A, 6.67 on D (not ours)
    assert now.refunds == 2
    assert now.disputes == 1
    assert now.dispute_debit == 760  # O2's 8.00 less the platform's 5 %
    # 5 % of each sale, less what the platform gave back with the refunds.
    assert now.fees == (50 + 40 + 45 + 60 + 0 + 50) - ((300 - 285) + (333 - 316))
    assert now.net == 4900 - 245 - (285 + 316) - 760
    assert now.net == now.gross - now.refunded - now.fees - now.dispute_debit
    assert now.downloads == 3  # the resume 10 minutes later does not count
    assert now.views == 8  # not the bot, the prefetch, nor the seller's own visit
    assert now.conversion == Decimal(4) / Decimal(8)  # paid orders per view
    assert now.average_price == 980  # 49.00 over the 5 sales that cost something
    assert now.pwyw_units == 2
    assert now.pwyw_average == 1000
    assert now.pwyw_above == 500
    assert now.pwyw_above_ratio == Decimal(1)
    assert board.current["discounts"] == 100


def test_previous_period_counts_local_days(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk), "Europe/Paris")
    assert board.previous is not None
    before = Figures.of(board.previous)
    assert (before.orders, before.units, before.gross, before.net) == (1, 1, 1000, 950)
    assert before.views == 1


@pytest.mark.parametrize(
    ("day", "orders", "views", "downloads"),
    [
        ("2025-03-18", 0, 0, 0),  # O1 at 23:30 UTC is already the 19th in Paris
        ("2025-03-19", 2, 2, 1),
        ("2025-03-20", 1, 2, 0),  # the view at 23:30 UTC on the 19th; O3 at 23:59 Paris
        ("2025-03-21", 0, 1, 1),  # the download at 23:10 UTC on the 20th; O4 is free
    ],
)
def test_a_day_is_a_day_in_the_sellers_timezone(
    db: None, shop: Shop, day: str, orders: int, views: int, downloads: int
) -> None:
    board = read(
        Scope(seller_id=shop.paris.pk), "Europe/Paris", {"range": "custom", "from": day, "to": day}
    )
    now = Figures.of(board.current)
    assert (now.orders, now.views, now.downloads) == (orders, views, downloads)


def test_shop_days_are_counted_in_the_shops_timezone(db: None, shop: Shop) -> None:
    board = read(Scope(), "UTC")
    now = Figures.of(board.current)
    # In UTC, O1 (18 Mar 23:30) falls in the previous period; O4 is a free claim, no order.
    assert (now.orders, now.units, now.gross) == (3, 6, 800 + 900 + 1200 + 0 + 1000 + 2000)
    assert now.conversion == Decimal(3) / Decimal(9)
    assert now.refunded == 300 + 1000
    assert now.views == 9  # D's view counts for the shop
    assert board.previous is not None
    assert Figures.of(board.previous).orders == 2
    assert board.sellers[shop.paris.pk]["orders"] == 3  # O2, O3, O5
    assert board.sellers[shop.other.pk]["gross"] == 2000
    assert board.sellers[shop.other.pk]["refunded"] == 667


def test_per_product_figures(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk), "Europe/Paris")
    a = Figures.of(board.products[(shop.paris.pk, shop.a.pk)], per_product=True)
    b = Figures.of(board.products[(shop.paris.pk, shop.b.pk)], per_product=True)
    e = Figures.of(board.products[(shop.paris.pk, shop.e.pk)], per_product=True)
    assert (a.views, a.units, a.gross, a.refunds, a.refunded, a.downloads) == (
        5,
        3,
        2900,
        2,
        633,
        2,
    )
    assert a.conversion == Decimal(3) / Decimal(5)
    assert (b.views, b.units, b.gross, b.disputes, b.downloads) == (2, 2, 2000, 1, 1)
    assert (e.views, e.units) == (1, 0)
    assert (shop.paris.pk, shop.d.pk) not in board.products


def test_product_page_figures_match_its_row(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk, product_id=shop.a.pk), "Europe/Paris")
    now = Figures.of(board.current, per_product=True)
    assert (now.views, now.units, now.gross, now.refunded, now.downloads) == (5, 3, 2900, 633, 2)
    assert now.orders == 3
    assert board.sources[("country", "FR")]["gross"] == 1900


def test_where_buyers_come_from(db: None, shop: Shop) -> None:
    sources = read(Scope(seller_id=shop.paris.pk), "Europe/Paris").sources
    assert sources[("referrer", "blog.example")] == Counter(
        {
            "views": 2,
            "orders": 2,
            "units": 3,
            "gross": 3100,
        }
    )
    # O2 and O5; O4's free claim is neither an order nor a unit sold.
    assert sources[("referrer", "")] == Counter(
        {"views": 6, "orders": 2, "units": 2, "gross": 1800}
    )
    assert sources[("source", "newsletter")] == Counter(
        {
            "views": 2,
            "orders": 2,
            "units": 2,
            "gross": 1800,
        }
    )
    assert sources[("campaign", "spring")] == Counter(
        {"views": 1, "orders": 1, "units": 1, "gross": 1000}
    )
    assert sources[("country", "FR")] == Counter({"orders": 2, "units": 3, "gross": 3100})
    assert sources[("country", "US")] == Counter({"orders": 1, "units": 1, "gross": 1000})
    assert not any(sources.get(("country", ""), Counter()).values())  # only O4, free
    assert ("referrer", "news.example") not in sources  # a view of the previous period


def test_payout_status_is_all_time(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk), "Europe/Paris", {"range": "7d"})
    assert board.transferred == 1900
    ledger = sum(e.amount for e in LedgerEntry.objects.filter(seller=shop.paris, transfer=None))
    assert board.owed == ledger == 760 + 855 + 1140 + 950 - 285 - 760 - 316


def test_all_time_net_is_what_the_ledger_credits(db: None, shop: Shop) -> None:
    board = read(Scope(seller_id=shop.paris.pk), "Europe/Paris", {"range": "all"})
    ledger = sum(e.amount for e in LedgerEntry.objects.filter(seller=shop.paris))
    assert Figures.of(board.current).net == ledger
    assert board.previous is None
    assert Figures.of(board.current).orders == 5  # O0..O5 but O4, free
