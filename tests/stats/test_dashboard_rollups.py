"""Daily roll-ups: local days in SQL, closed days only, rebuilt when the timezone changes."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection
from django.db.models import Sum

from shop.models import Order, OrderItem
from shop.services import (
    OrderLine,
    order_create,
    order_fulfil,
    order_item_refund,
    order_refund_record,
)
from shop.stats.facts import Scope, Window, order_refund_facts
from shop.stats.localtime import day_from_number, local_day
from shop.stats.models import DailyStats, ProductView, StatsBook
from shop.stats.rollups import stats_book_roll
from shop.stats.selectors import Figures, book_for, dashboard_read, period_from
from tests.factories import ProductFactory, SellerFactory
from tests.stats.test_dashboard import Clock, frozen_clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


@pytest.mark.parametrize(
    "tz", ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
)
def test_local_days_in_sql_match_python_across_daylight_saving(tz: str) -> None:
    seller = SellerFactory()
    zone = ZoneInfo(tz)
    instants = []
    # Every 20 minutes around each 2025 transition of these zones, and around midnights.
    for centre in (
        "2025-03-09",
        "2025-03-30",
        "2025-04-06",
        "2025-10-05",
        "2025-10-26",
        "2025-11-02",
    ):
        start = datetime.fromisoformat(f"{centre}T00:00:00+00:00") - timedelta(hours=18)
        instants += [start + timedelta(minutes=20 * n) for n in range(3 * 48)]
    ProductView.objects.bulk_create(ProductView(seller=seller, at=t) for t in instants)
    span = (min(instants), max(instants) + timedelta(seconds=1))
    rows = ProductView.objects.annotate(local=local_day("at", tz, *span)).values_list("at", "local")
    mismatched = [
        (at, day_from_number(number))
        for at, number in rows
        if day_from_number(number) != at.astimezone(zone).date()
    ]
    assert mismatched == []
    assert len(rows) == len(instants)


def _sale(clock: Clock, when: datetime, product, key: str, price: str | None = None) -> Order:
    clock.set(when)
    order = order_create(
        lines=[OrderLine(product, offered=price)],
        email=f"{key}@example.com",
        checkout_key=f"rollup-test-key-{key}",
        provider="test",
    )
    return order_fulfil(order_id=order.pk, payment_id=f"pi_{key}")


def test_the_last_hour_keeps_its_day_open(clock: Clock) -> None:
    seller = SellerFactory(timezone="UTC")
    product = ProductFactory(seller=seller, price=700)
    _sale(clock, datetime(2025, 5, 1, 23, 50, tzinfo=UTC), product, "late")
    book = stats_book_roll(seller=seller, now=datetime(2025, 5, 2, 0, 30, tzinfo=UTC))
    # 1 May ended 30 minutes ago: a transaction stamped 23:59 may still be committing.
    assert book.rolled_until == date(2025, 5, 1)
    assert not DailyStats.objects.filter(book=book).exists()
    book = stats_book_roll(seller=seller, now=datetime(2025, 5, 2, 1, 30, tzinfo=UTC))
    assert book.rolled_until == date(2025, 5, 2)
    row = DailyStats.objects.get(book=book, product__isnull=True)
    assert (row.day, row.orders, row.gross) == (date(2025, 5, 1), 1, 700)


def test_rolling_again_or_rebuilding_changes_nothing(clock: Clock) -> None:
    seller = SellerFactory(timezone="Europe/Paris")
    product = ProductFactory(seller=seller, price=1000)
    for n in range(5):
        _sale(clock, datetime(2025, 6, 1 + n, 21, 30, tzinfo=UTC), product, f"s{n}")
    now = datetime(2025, 6, 10, 12, tzinfo=UTC)
    book = stats_book_roll(seller=seller, now=now)
    first = list(DailyStats.objects.filter(book=book).order_by("day", "product").values())
    stats_book_roll(seller=seller, now=now)
    stats_book_roll(seller=seller, now=now, rebuild=True)
    again = list(DailyStats.objects.filter(book=book).order_by("day", "product").values())
    strip = [{k: v for k, v in row.items() if k != "id"} for row in first]
    assert strip == [{k: v for k, v in row.items() if k != "id"} for row in again]
    assert [row["day"] for row in strip if row["product_id"] is None] == [
        date(2025, 6, 1 + n) for n in range(5)
    ]  # 21:30 UTC is 23:30 in Paris in June: the same day


def test_a_new_timezone_recounts_the_days(clock: Clock) -> None:
    seller = SellerFactory(timezone="Europe/Paris")
    product = ProductFactory(seller=seller, price=1000)
    _sale(clock, datetime(2025, 6, 2, 3, 0, tzinfo=UTC), product, "early")  # 05:00 Paris
    now = datetime(2025, 6, 10, 12, tzinfo=UTC)
    clock.set(now)
    stats_book_roll(seller=seller, now=now)
    seller.timezone = "America/New_York"  # 23:00 on 1 June there
    seller.save()
    scope = Scope(seller_id=seller.pk)
    assert book_for(scope, "America/New_York") is None  # the old book no longer counts
    period = period_from(
        {"range": "custom", "from": "2025-06-01", "to": "2025-06-01"}, date(2025, 6, 10)
    )
    live = dashboard_read(
        scope=scope, tz_name="America/New_York", period=period, now=now, book=None
    )
    assert Figures.of(live.current).orders == 1
    book = stats_book_roll(seller=seller, now=now)
    assert book.timezone == "America/New_York"
    assert DailyStats.objects.get(book=book, product__isnull=True).day == date(2025, 6, 1)
    rolled = dashboard_read(
        scope=scope,
        tz_name="America/New_York",
        period=period,
        now=now,
        book=book_for(scope, "America/New_York"),
    )
    assert Figures.of(rolled.current).orders == 1
    assert StatsBook.objects.filter(seller=seller).count() == 1


def test_whole_order_refunds_are_spread_like_the_services_spread_them(clock: Clock) -> None:
    seller = SellerFactory(timezone="UTC")
    a = ProductFactory(seller=seller, price=1000)
    b = ProductFactory(seller=seller, price=333)
    clock.set(datetime(2025, 7, 1, 10, tzinfo=UTC))
    order = order_create(
        lines=[OrderLine(a), OrderLine(b)],
        email="two@example.com",
        checkout_key="rollup-test-two-items",
        provider="test",
    )
    order = order_fulfil(order_id=order.pk, payment_id="pi_two")
    clock.set(datetime(2025, 7, 2, 10, tzinfo=UTC))
    order_refund_record(
        order_id=order.pk, refunded_total=101, provider_refund_id="re_1", full=False
    )
    clock.set(datetime(2025, 7, 3, 10, tzinfo=UTC))
    order_item_refund(item_id=order.items.get(product=a).pk, amount=250)
    clock.set(datetime(2025, 7, 4, 10, tzinfo=UTC))
    order_refund_record(
        order_id=order.pk, refunded_total=101 + 250 + 77, provider_refund_id="re_2", full=False
    )
    window = Window("UTC", datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 7, 5, tzinfo=UTC))
    facts = order_refund_facts(Scope(seller_id=seller.pk), window)
    by_item: dict[int, int] = {}
    for fact in facts:
        assert fact.product is not None
        by_item[fact.product] = by_item.get(fact.product, 0) + fact.counts["refunded"]
    items = {
        item.product_id: item.refunded_amount for item in OrderItem.objects.filter(order=order)
    }
    assert by_item[a.pk] + 250 == items[a.pk]
    assert by_item[b.pk] == items[b.pk]
    assert sorted({f.day for f in facts}) == [date(2025, 7, 2), date(2025, 7, 4)]
    assert sum(f.counts["refunded"] for f in facts) == 101 + 77


def test_the_command_rolls_every_book(clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    seller = SellerFactory(slug="atelier", timezone="Europe/Paris")
    product = ProductFactory(seller=seller, price=900)
    _sale(clock, datetime(2025, 8, 1, 12, tzinfo=UTC), product, "cmd")
    clock.set(datetime(2025, 8, 5, 12, tzinfo=UTC))
    call_command("dashboard_rollup")
    assert "Rolled up 2 books." in capsys.readouterr().out  # the shop's and the seller's
    shop_total = DailyStats.objects.filter(
        book__scope="shop", seller__isnull=True, product__isnull=True
    )
    assert shop_total.aggregate(gross=Sum("gross"))["gross"] == 900
    call_command("dashboard_rollup", "--seller", "atelier", "--rebuild")
    assert "Rolled up atelier until 2025-08-05 (Europe/Paris)." in capsys.readouterr().out
    with pytest.raises(CommandError, match="No seller has the slug “nobody”"):
        call_command("dashboard_rollup", "--seller", "nobody")


def test_the_clock_process_rolls_again_and_outlives_a_failed_run(
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``--every`` (the Procfile's clock line) keeps going after an error, and rolls forward."""
    from shop.stats.management.commands import dashboard_rollup

    seller = SellerFactory(slug="atelier", timezone="UTC")
    product = ProductFactory(seller=seller, price=900)
    _sale(clock, datetime(2025, 8, 1, 12, tzinfo=UTC), product, "clock")
    clock.set(datetime(2025, 8, 5, 12, tzinfo=UTC))
    real = dashboard_rollup.stats_books_roll
    calls: list[datetime] = []

    def flaky(**kwargs: object) -> int:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        clock.set(clock.now + timedelta(days=1))  # the next run finds a new closed day
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dashboard_rollup, "stats_books_roll", flaky)
    call_command("dashboard_rollup", "--every", "0.01", "--runs", "3")
    out = capsys.readouterr().out
    assert len(calls) == 3
    assert "Dashboard roll-up failed" in caplog.text and "database went away" in caplog.text
    assert out.count("Rolled up 2 books.") == 2
    assert "Stopped after 3 runs." in out
    book = StatsBook.objects.get(scope=f"seller:{seller.pk}")
    assert book.rolled_until == date(2025, 8, 7)  # rolled forward on the third run
    assert DailyStats.objects.filter(book=book, product=product).get().gross == 900


def test_the_clock_options_are_checked() -> None:
    with pytest.raises(CommandError, match="--runs goes with --every"):
        call_command("dashboard_rollup", "--runs", "2")
    with pytest.raises(CommandError, match="above 0"):
        call_command("dashboard_rollup", "--every", "0")


def test_the_procfile_runs_the_clock_hourly() -> None:
    from pathlib import Path

    from django.conf import settings

    lines = dict(
        line.split(": ", 1)
        for line in (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
        if line.strip()
    )
    # `manage.py clock` rolls up every CLOCK_ROLLUP_SECONDS, between its outbox sweeps.
    assert lines["clock"] == "python manage.py clock"
    assert settings.CLOCK_ROLLUP_SECONDS == 3600


@pytest.mark.django_db(transaction=True)
def test_two_clocks_at_once_roll_each_day_once(clock: Clock) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    seller = SellerFactory(timezone="UTC")
    product = ProductFactory(seller=seller, price=900)
    _sale(clock, datetime(2025, 8, 1, 12, tzinfo=UTC), product, "twice")
    # The book exists and is behind (a first run creates it: its unique scope serialises that).
    assert stats_book_roll(seller=seller).rolled_until == date(2025, 8, 1)
    now = datetime(2025, 8, 5, 12, tzinfo=UTC)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def roll() -> None:
        barrier.wait()
        try:
            stats_book_roll(seller=seller, now=now)
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert StatsBook.objects.filter(seller=seller).count() == 1
    rows = DailyStats.objects.filter(book__seller=seller, product=product)
    assert [(row.day, row.gross, row.units) for row in rows] == [(date(2025, 8, 1), 900, 1)]


def test_chunks_follow_the_density_of_the_days() -> None:
    from shop.stats.rollups import CHUNK_DAYS_MAX, CHUNK_FACTS, next_chunk_days

    assert next_chunk_days(31, 0) == CHUNK_DAYS_MAX  # nothing there: read a year at once
    assert next_chunk_days(31, CHUNK_FACTS) == 31
    assert next_chunk_days(31, CHUNK_FACTS * 31) == 1  # a busy shop: a day at a time
    assert next_chunk_days(10, CHUNK_FACTS // 2) == 20


def test_an_interrupted_roll_up_keeps_its_chunks_and_resumes(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk commits with ``rolled_until``: a crash loses one chunk's work, no more."""
    from shop.stats import rollups

    seller = SellerFactory(timezone="UTC")
    product = ProductFactory(seller=seller, price=500)
    for n in range(4):
        _sale(clock, datetime(2025, 9, 1 + n, 12, tzinfo=UTC), product, f"crash{n}")
    now = datetime(2025, 9, 10, 12, tzinfo=UTC)
    monkeypatch.setattr(rollups, "CHUNK_DAYS", 1)
    monkeypatch.setattr(rollups, "CHUNK_FACTS", 1)  # a day per chunk
    real = rollups.read_facts
    chunks: list[Window] = []

    def crashing(scope: Scope, window: Window) -> list:
        chunks.append(window)
        if len(chunks) == 3:
            raise RuntimeError("the machine went down")
        return real(scope, window)

    monkeypatch.setattr(rollups, "read_facts", crashing)
    with pytest.raises(RuntimeError):
        stats_book_roll(seller=seller, now=now)
    book = StatsBook.objects.get(seller=seller)
    assert book.rolled_until == date(2025, 9, 3)  # two days written, the third lost
    kept = DailyStats.objects.filter(book=book, product=product).order_by("day")
    assert [(row.day, row.gross) for row in kept] == [
        (date(2025, 9, 1), 500),
        (date(2025, 9, 2), 500),
    ]

    monkeypatch.setattr(rollups, "read_facts", real)
    stats_book_roll(seller=seller, now=now)
    book.refresh_from_db()
    assert book.rolled_until == date(2025, 9, 10)
    resumed = [(row.day, row.gross) for row in kept.all()]
    assert resumed == [(date(2025, 9, 1 + n), 500) for n in range(4)]
