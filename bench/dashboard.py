"""Sales dashboard benchmark: one seller with a million sales, on SQLite and PostgreSQL.

For each database it makes a fresh one (a temporary SQLite file; a PostgreSQL
database it creates and drops), runs the migrations, and fills it in SQL
(``generate_series`` on PostgreSQL, a recursive CTE on SQLite) with one
seller holding, over three years:

* 1,000,000 order items in 910,000 orders (one in ten orders has two items),
  12 products (9 fixed prices, 3 pay what you want), referrers, utm tags and
  countries, 2 % of the items partly refunded, 0.05 % disputed;
* their entitlements (100,000 buyers), 5,000,000 download log rows (70 %
  counted), 10,000,000 product views;
* the seller's ledger (a credit per sale, debits for refunds and disputes)
  and a Stripe transfer per day but the last three.

Then it rolls the daily figures up (``dashboard_rollup``), and measures, in
the same process, through Django's test client (the server's time, the
template included): a bare Django view (the baseline), the dashboard for
the last 30 days and for all time, a product's page, the shop's page for
staff, the number of SQL queries of each, the time to the first byte and to
the first sale line of the CSV export of every order, and the peak memory
growth while streaming that whole export (about 1 million lines).

Usage::

    python bench/dashboard.py                      # both databases, ~15 minutes
    python bench/dashboard.py --only sqlite --scale 0.05   # a quick look
    python bench/dashboard.py --keep /var/tmp/bench        # keep the data, reuse it next time

``--pg-url`` points at a PostgreSQL server (default
``postgres://postgres@127.0.0.1:5432/postgres``; a database named
``echoppe_bench_dashboard_<pid>`` is created there and dropped at the end).
It needs about 12 GiB free in the temporary directory and in PostgreSQL's data
directory. It exits with status 1 when a target is missed. Nothing here is
run by the test suite.
"""

# The SQL below is built from this file's own constants (no outside input), and reads
# best unwrapped.
# ruff: noqa: E501, S608

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ITEMS = 1_000_000
SINGLE_ORDERS = 910_000  # items past this go, as second items, to every tenth order
DOWNLOADS = 5_000_000
VIEWS = 10_000_000
BUYERS = 100_000
DAYS = 3 * 365
RUNS = 7

TARGET_QUERIES = 10
TARGET_30D_PG_MS = 150.0
TARGET_ALL_MS = 500.0
TARGET_EXPORT_RSS_MIB = 32.0

PRODUCTS = [  # title, pricing, price (the minimum for pay what you want)
    ("Night Trains", "fixed", 900),
    ("Field Notes on Small Shops", "fixed", 1200),
    ("Été à Paris", "fixed", 1500),
    ("Les Ondes Douces", "fixed", 700),
    ("Harbour Lights", "fixed", 2000),
    ("Paper Boats", "fixed", 500),
    ("Slow Mornings", "fixed", 1000),
    ("Kitchen Radio", "fixed", 300),
    ("Winter Lines", "fixed", 800),
    ("Pay What You Like: Demos", "pwyw", 300),
    ("Tape Loops", "pwyw", 500),
    ("Zine no. 7", "pwyw", 0),
]
REFERRERS = ["", "", "", "news.ycombinator.com", "bandcamp.com", "mastodon.social", "google.com"]
SOURCES = ["", "", "newsletter", "mastodon", "instagram"]
CAMPAIGNS = ["", "", "", "spring-sale", "launch", "black-friday"]
COUNTRIES = ["FR", "DE", "US", "GB", "BE", "CA", "JP", "ES", "IT", "NL", ""]


def say(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


# --- SQL that both databases run ----------------------------------------------------


class Dialect:
    def __init__(self, vendor: str, start: int) -> None:
        self.vendor = vendor
        self.start = start  # epoch seconds of the first day

    def seq(self, count: int) -> str:
        """``FROM`` clause giving x = 0 .. count-1."""
        if self.vendor == "postgresql":
            return f"generate_series(0, {count - 1}) AS seq(x)"
        return (
            f"(WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < {count - 1})"
            " SELECT x FROM s) AS seq"
        )

    def ts(self, seconds: str) -> str:
        """A timestamp ``seconds`` after the first day."""
        if self.vendor == "postgresql":
            return f"to_timestamp({self.start} + ({seconds}))"
        return f"datetime({self.start} + ({seconds}), 'unixepoch')"

    def uuid(self, x: str, salt: str) -> str:
        if self.vendor == "postgresql":
            return f"md5('{salt}' || {x})::uuid"
        return "lower(hex(randomblob(16)))"

    def least(self, a: str, b: str) -> str:
        return f"{'LEAST' if self.vendor == 'postgresql' else 'MIN'}({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"{'GREATEST' if self.vendor == 'postgresql' else 'MAX'}({a}, {b})"

    def true(self) -> str:
        return "true" if self.vendor == "postgresql" else "1"

    def boolean(self, condition: str) -> str:
        return (
            f"({condition})"
            if self.vendor == "postgresql"
            else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"
        )


def h(x: str, salt: int, modulo: int) -> str:
    """A repeatable pseudo-random number in [0, modulo) from an integer expression."""
    return f"((({x}) * 2654435761 + {salt * 97 + 13}) % 4294967291 % {modulo})"


def pick(values: list[str], x: str, salt: int) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE {h(x, salt, len(values))} {whens} END)"


def generate(
    connection: Any, seller_id: int, product_ids: list[int], asset_ids: list[int], scale: float
) -> dict[str, int]:
    """Fill the tables in SQL; returns how many rows each got."""
    vendor = connection.vendor
    now = int(time.time())
    start = (now // 86400 - DAYS) * 86400
    span = DAYS * 86400
    d = Dialect(vendor, start)
    items = int(ITEMS * scale)
    singles = int(SINGLE_ORDERS * scale)
    downloads, views, buyers = (
        int(DOWNLOADS * scale),
        int(VIEWS * scale),
        max(10, int(BUYERS * scale)),
    )
    n = len(PRODUCTS)
    first_product, first_asset = product_ids[0], asset_ids[0]
    assert product_ids == list(range(first_product, first_product + n))
    assert asset_ids == list(range(first_asset, first_asset + n))

    def product_index(i: str) -> str:
        return h(i, 1, n)

    def price(i: str) -> str:
        cases = " ".join(
            f"WHEN {k} THEN {p if kind == 'fixed' else f'{p} + {h(i, 5, 1500)}'}"
            for k, (_, kind, p) in enumerate(PRODUCTS)
        )
        return f"(CASE {product_index(i)} {cases} END)"

    def minimum(i: str) -> str:
        cases = " ".join(
            f"WHEN {k} THEN {p if kind == 'pwyw' else 'NULL'}"
            for k, (_, kind, p) in enumerate(PRODUCTS)
        )
        return f"(CASE {product_index(i)} {cases} END)"

    def title(i: str) -> str:
        cases = " ".join(
            f"WHEN {k} THEN '{t.replace(chr(39), chr(39) * 2)}'"
            for k, (t, _, _) in enumerate(PRODUCTS)
        )
        return f"(CASE {product_index(i)} {cases} END)"

    def order_of(i: str) -> str:
        return f"(CASE WHEN {i} < {singles} THEN {i} ELSE ({i} - {singles}) * 10 END)"

    def paid_seconds(o: str) -> str:
        return f"(({o}) * {span // max(singles, 1)} + {h(o, 2, 3600)})"

    def refunded(i: str) -> str:
        return f"(CASE WHEN {h(i, 7, 50)} = 0 THEN {price(i)} / 2 ELSE 0 END)"

    cap = f"{now - 7200 - start}"  # nothing after two hours ago
    statements = {
        "shop_order": f"""
            INSERT INTO shop_order (id, public_id, buyer_email, status, currency, subtotal,
                discount_total, total, platform_fee, refunded_amount, provider, checkout_key,
                failure_reason, flagged, referrer_host, utm_source, utm_campaign, country,
                flag_reason, created_at, paid_at)
            SELECT x + 1, {d.uuid("x", "o")}, 'b' || {h("x", 3, buyers)} || '@example.com', 'paid', 'EUR',
                {price("x")}, 0, {price("x")}, {price("x")} * 5 / 100, 0, 'stripe', 'bench-' || x,
                '', {"false" if vendor == "postgresql" else "0"}, {pick(REFERRERS, "x", 31)}, {pick(SOURCES, "x", 37)},
                {pick(CAMPAIGNS, "x", 41)}, {pick(COUNTRIES, "x", 43)}, '',
                {d.ts(paid_seconds("x"))}, {d.ts(paid_seconds("x"))}
            FROM {d.seq(singles)}""",
        "delivery_library": f"""
            INSERT INTO delivery_library (id, email, created_at)
            SELECT x + 1, 'b' || x || '@example.com', {d.ts("0")} FROM {d.seq(buyers)}""",
        "delivery_entitlement": f"""
            INSERT INTO delivery_entitlement (id, library_id, product_id, status, revoked_reason, created_at)
            SELECT x + 1, 1 + {h(order_of("x"), 3, buyers)}, {first_product} + {product_index("x")}, 'active', '',
                {d.ts(paid_seconds(order_of("x")))}
            FROM {d.seq(items)}""",
        "shop_orderitem": f"""
            INSERT INTO shop_orderitem (id, order_id, product_id, seller_id, title, list_price,
                discount_amount, unit_price, minimum_price, platform_fee, refunded_amount, entitlement_id)
            SELECT x + 1, {order_of("x")} + 1, {first_product} + {product_index("x")}, {seller_id}, {title("x")},
                {price("x")}, 0, {price("x")}, {minimum("x")}, {price("x")} * 5 / 100, {refunded("x")}, x + 1
            FROM {d.seq(items)}""",
        "shop_refund": f"""
            INSERT INTO shop_refund (order_id, item_id, amount, reason, created_at)
            SELECT {order_of("x")} + 1, x + 1, {refunded("x")}, 'bench',
                {d.ts(d.least(f"{paid_seconds(order_of('x'))} + 3 * 86400", cap))}
            FROM {d.seq(items)} WHERE {h("x", 7, 50)} = 0 AND {refunded("x")} > 0""",
        "shop_sellertransfer": f"""
            INSERT INTO shop_sellertransfer (id, seller_id, amount, currency, stripe_transfer_id, transfer_group, created_at)
            SELECT x + 1, {seller_id}, 0, 'EUR', 'tr_bench_' || x, '', {d.ts("(x + 1) * 86400 + 3600")}
            FROM {d.seq(DAYS - 3)}""",
        "shop_ledgerentry": f"""
            INSERT INTO shop_ledgerentry (seller_id, item_id, kind, amount, currency, transfer_id, created_at)
            SELECT {seller_id}, x + 1, 'sale', {price("x")} - {price("x")} * 5 / 100, 'EUR',
                CASE WHEN {paid_seconds(order_of("x"))} / 86400 < {DAYS - 3} THEN {paid_seconds(order_of("x"))} / 86400 + 1 END,
                {d.ts(paid_seconds(order_of("x")))}
            FROM {d.seq(items)} WHERE {price("x")} - {price("x")} * 5 / 100 > 0""",
        "shop_ledgerentry refunds": f"""
            INSERT INTO shop_ledgerentry (seller_id, item_id, kind, amount, currency, refund_id, created_at)
            SELECT {seller_id}, r.item_id, 'refund', -(r.amount * (i.unit_price - i.platform_fee) / i.unit_price),
                'EUR', r.id, r.created_at
            FROM shop_refund r JOIN shop_orderitem i ON i.id = r.item_id""",
        "shop_ledgerentry disputes": f"""
            INSERT INTO shop_ledgerentry (seller_id, item_id, kind, amount, currency, created_at)
            SELECT {seller_id}, x + 1, 'dispute', -({price("x")} - {price("x")} * 5 / 100), 'EUR',
                {d.ts(d.least(f"{paid_seconds(order_of('x'))} + 20 * 86400", cap))}
            FROM {d.seq(items)} WHERE {h("x", 29, 2000)} = 0 AND {price("x")} > 0""",
        # Downloads within 30 days of the sale, before the cap, written in the order they
        # happened (as a live shop appends them).
        "delivery_download": f"""
            INSERT INTO delivery_download (entitlement_id, asset_id, at, network, user_agent, range_header, counted)
            SELECT 1 + e, {first_asset} + {product_index("e")}, {d.ts("s")}, '', 'bench', '',
                {d.boolean(f"{h('x', 17, 10)} < 7")}
            FROM (
                SELECT x, e, p + {h("x", 13, 30 * 86400)} % {d.greatest(d.least(str(30 * 86400), f"{cap} - p"), "1")} AS s
                FROM (
                    SELECT x, e, {paid_seconds(order_of("e"))} AS p
                    FROM (SELECT x, {h("x", 11, items)} AS e FROM {d.seq(downloads)}) AS picks
                ) AS paid
            ) AS timed
            ORDER BY s""",
        "shop_productview": f"""
            INSERT INTO shop_productview (seller_id, product_id, at, referrer_host, utm_source, utm_campaign)
            SELECT {seller_id}, {first_product} + {h("x", 19, n)},
                {d.ts(f"x * {span / max(views, 1):.6f} + {h('x', 23, 600)}" if vendor == "postgresql" else f"CAST(x * {span / max(views, 1):.6f} AS INTEGER) + {h('x', 23, 600)}")},
                {pick(REFERRERS, "x", 47)}, {pick(SOURCES, "x", 53)}, {pick(CAMPAIGNS, "x", 59)}
            FROM {d.seq(views)}""",
    }
    counts: dict[str, int] = {}
    tables = sorted({name.split()[0] for name in statements})
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")
        else:
            # Foreign keys are checked by triggers, row by row: the rows below are consistent.
            cursor.execute("SET session_replication_role = replica")
        # A B-tree built once from sorted rows is many times faster than millions of
        # inserts at random places in it: drop the secondary indexes, put them back after.
        indexes = secondary_indexes(cursor, vendor, tables)
        for index_name, _ in indexes:
            cursor.execute(f'DROP INDEX "{index_name}"')
        for name, sql in statements.items():
            began = time.perf_counter()
            cursor.execute(sql)
            counts[name] = cursor.rowcount
            say(f"{name}: {cursor.rowcount:,} rows in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        for _, create in indexes:
            cursor.execute(create)
        say(f"{len(indexes)} indexes rebuilt in {time.perf_counter() - began:.1f} s")
        if vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            "UPDATE shop_sellertransfer SET amount = COALESCE((SELECT SUM(amount) FROM shop_ledgerentry"
            " WHERE shop_ledgerentry.transfer_id = shop_sellertransfer.id), 0)"
        )
        if vendor == "postgresql":
            for table in (
                "shop_order",
                "shop_orderitem",
                "delivery_library",
                "delivery_entitlement",
                "shop_sellertransfer",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA synchronous = NORMAL")
    return counts


def secondary_indexes(cursor: Any, vendor: str, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``tables`` that back no constraint."""
    if vendor == "sqlite":
        marks = ", ".join("%s" for _ in tables)
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({marks})",
            tables,
        )
    else:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " JOIN pg_class c ON c.relname = i.indexname"
            " JOIN pg_index x ON x.indexrelid = c.oid"
            " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
            " AND NOT x.indisunique",
            [tables],
        )
    return [(name, sql) for name, sql in cursor.fetchall()]


# --- Measuring, in the child process ------------------------------------------------


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(db_url: str, scale: float) -> dict[str, Any]:
    os.environ.update(
        DATABASE_URL=db_url,
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",  # noqa: S106
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        TASKS_BACKEND="immediate",
        DJANGO_SETTINGS_MODULE="shop.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings, setup_test_environment

    from catalog.models import Asset, Product, Seller

    setup_test_environment()
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    seller = Seller.objects.filter(slug="bench").select_related("user").first()
    if seller is not None:  # --keep: a database filled by an earlier run
        user = seller.user
        staff = get_user_model().objects.get(username="staff")
        products = list(Product.objects.filter(seller=seller).order_by("pk"))
        with connection.cursor() as cursor:
            counts = {}
            for table_name in ("shop_orderitem", "delivery_download", "shop_productview"):
                cursor.execute(f"SELECT COUNT(*) FROM {table_name}")
                counts[table_name] = cursor.fetchone()[0]
        generate_seconds = float("nan")
        say(f"reusing the data of an earlier run ({counts['shop_orderitem']:,} order items)")
    else:
        user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-123")
        staff = get_user_model().objects.create_user(
            "staff", "staff@example.com", "x", is_staff=True
        )
        seller = Seller.objects.create(
            user=user, slug="bench", display_name="Bench Records", timezone="Europe/Paris"
        )
        products = [
            Product.objects.create(
                seller=seller,
                slug=f"p{k}",
                title=title,
                pricing=kind,
                price=price,
                status="published",
            )
            for k, (title, kind, price) in enumerate(PRODUCTS)
        ]
        assets = [
            Asset.objects.create(
                product=p, file=f"assets/p{p.pk}.zip", original_filename="files.zip", size_bytes=1
            )
            for p in products
        ]
        say(f"migrated in {time.perf_counter() - began:.1f} s; generating")
        began = time.perf_counter()
        counts = generate(
            connection, seller.pk, [p.pk for p in products], [a.pk for a in assets], scale
        )
        generate_seconds = time.perf_counter() - began
        say(f"generated in {generate_seconds:.0f} s; rolling up")
    began = time.perf_counter()
    call_command("dashboard_rollup", rebuild=True, verbosity=0)
    rollup_seconds = time.perf_counter() - began
    say(f"rolled up in {rollup_seconds:.0f} s; measuring")

    client = Client()
    client.force_login(user)
    staff_client = Client()
    staff_client.force_login(staff)

    def measure(get: Callable[[], Any], runs: int = RUNS) -> tuple[float, int]:
        for _ in range(2):
            get()  # warm: caches, prepared plans
        times, queries = [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                t = time.perf_counter()
                response = get()
                if getattr(response, "streaming", False):
                    next(iter(response.streaming_content))
                times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.status_code
            queries = len(captured.captured_queries)
        return statistics.median(times), queries

    results: dict[str, Any] = {
        "counts": counts,
        "generate_s": generate_seconds,
        "rollup_s": rollup_seconds,
    }
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ROOT_URLCONF="__main__", STORAGES=plain_static):
        results["bare"] = measure(lambda: client.get("/bench/bare/"))
        results["30d"] = measure(lambda: client.get("/sell/stats/", {"range": "30d"}))
        results["all"] = measure(lambda: client.get("/sell/stats/", {"range": "all"}))
        results["12m"] = measure(lambda: client.get("/sell/stats/", {"range": "12m", "by": "week"}))
        results["product_all"] = measure(
            lambda: client.get(f"/sell/stats/products/{products[2].pk}/", {"range": "all"})
        )
        results["shop_30d"] = measure(lambda: staff_client.get("/staff/stats/", {"range": "30d"}))
        results["csv_first_byte"] = measure(
            lambda: client.get("/sell/stats/orders.csv", {"range": "all"})
        )

        # First sale line, whole export and the memory it takes.
        response = client.get("/sell/stats/orders.csv", {"range": "all"})
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
        before = rss_kib("VmRSS")
        t = time.perf_counter()
        chunks = iter(response.streaming_content)
        next(chunks)
        next(chunks)
        first_line_ms = (time.perf_counter() - t) * 1000
        lines, size = 0, 0
        for chunk in chunks:
            lines += chunk.count(b"\n")
            size += len(chunk)
        results["csv_first_line_ms"] = first_line_ms
        results["csv_total_s"] = time.perf_counter() - t
        results["csv_lines"] = lines + 1
        results["csv_mib"] = size / 2**20
        results["csv_rss_growth_mib"] = (rss_kib("VmHWM") - before) / 1024
    results["vendor"] = connection.vendor
    results["database"] = connection.settings_dict["NAME"]
    del settings
    return results


def bare(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


def _urlpatterns() -> list[Any]:
    from django.urls import path

    from shop.urls import urlpatterns as site

    return [path("bench/bare/", bare), *site]


if os.environ.get("DJANGO_SETTINGS_MODULE") and "--child" in sys.argv:
    # The test client resolves URLs here (ROOT_URLCONF="__main__"): the site plus a bare view.
    def __getattr__(name: str) -> Any:
        if name == "urlpatterns":
            return _urlpatterns()
        raise AttributeError(name)


# --- The parent: databases, child processes, the table ----------------------------------


def run_child(db_url: str, scale: float) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--db-url", db_url, "--scale", str(scale)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings"},
    )
    return json.loads(output.stdout.decode().strip().splitlines()[-1])


def table(results: dict[str, dict[str, Any]]) -> tuple[str, bool]:
    ok = True
    rows = [
        "| measure | " + " | ".join(results) + " | target |",
        "| --- | " + " | ".join("---" for _ in results) + " | --- |",
    ]

    def line(label: str, cell: Callable[[dict[str, Any]], str], target: str) -> None:
        rows.append(
            f"| {label} | " + " | ".join(cell(r) for r in results.values()) + f" | {target} |"
        )

    first = next(iter(results.values()))
    line(
        "order items / downloads / views",
        lambda r: (
            f"{r['counts']['shop_orderitem']:,} / {r['counts']['delivery_download']:,} / {r['counts']['shop_productview']:,}"
        ),
        "1M / 5M / 10M",
    )
    line(
        "data generated in",
        lambda r: "reused" if math.isnan(r["generate_s"]) else f"{r['generate_s']:.0f} s",
        "",
    )
    line("roll-up built in (3 years, from scratch)", lambda r: f"{r['rollup_s']:.0f} s", "")
    line("bare Django view (baseline)", lambda r: f"{r['bare'][0]:.1f} ms, {r['bare'][1]} q", "")
    for key, label, target_ms in (
        ("30d", "dashboard, last 30 days", TARGET_30D_PG_MS),
        ("all", "dashboard, all time", TARGET_ALL_MS),
        ("12m", "dashboard, 12 months by week", TARGET_ALL_MS),
        ("product_all", "a product's page, all time", TARGET_ALL_MS),
        ("shop_30d", "shop page (staff), 30 days", TARGET_ALL_MS),
    ):
        line(
            label,
            lambda r, k=key: f"{r[k][0]:.0f} ms, {r[k][1]} q (×{r[k][0] / r['bare'][0]:.0f})",
            f"≤ {TARGET_QUERIES} q"
            + (
                f", < {target_ms:.0f} ms" + (" on PostgreSQL" if key == "30d" else "")
                if key in ("30d", "all")
                else ""
            ),
        )
        for name, r in results.items():
            ms, queries = r[key]
            if queries > TARGET_QUERIES:
                ok = False
            if key == "all" and ms >= TARGET_ALL_MS:
                ok = False
            if key == "30d" and name == "postgresql" and ms >= TARGET_30D_PG_MS:
                ok = False
    line(
        "CSV export, first byte",
        lambda r: f"{r['csv_first_byte'][0]:.0f} ms, {r['csv_first_byte'][1]} q",
        "",
    )
    line("CSV export, first sale line", lambda r: f"{r['csv_first_line_ms']:.0f} ms", "")
    line(
        "CSV export, all of it",
        lambda r: f"{r['csv_lines']:,} lines, {r['csv_mib']:.0f} MiB in {r['csv_total_s']:.0f} s",
        "",
    )
    line(
        "CSV export, peak RSS growth",
        lambda r: f"{r['csv_rss_growth_mib']:.1f} MiB",
        f"< {TARGET_EXPORT_RSS_MIB:.0f} MiB (constant)",
    )
    for r in results.values():
        if r["csv_rss_growth_mib"] >= TARGET_EXPORT_RSS_MIB:
            ok = False
    del first
    return "\n".join(rows), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the data (quick runs)"
    )
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the databases (SQLite in DIR, PostgreSQL by name) and reuse them next time",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.db_url, args.scale)))
        return 0

    say(
        subprocess.run(
            ["df", "-h", tempfile.gettempdir()], capture_output=True, text=True
        ).stdout.strip()
    )
    if shutil.disk_usage(tempfile.gettempdir()).free < 12 * 2**30 * args.scale:
        say("not enough free space in the temporary directory")
        return 1
    results: dict[str, dict[str, Any]] = {}
    tag = f"{args.scale:g}".replace(".", "_")
    if args.only in (None, "sqlite"):
        say("SQLite")
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            path = Path(args.keep).resolve() / f"bench-dashboard-{tag}.sqlite3"
            results["sqlite"] = run_child(f"sqlite:///{path}", args.scale)
        else:
            with tempfile.TemporaryDirectory(prefix="echoppe-bench-dashboard-") as folder:
                results["sqlite"] = run_child(f"sqlite:///{folder}/bench.sqlite3", args.scale)
    if args.only in (None, "postgresql"):
        import psycopg

        name = f"echoppe_bench_dashboard_{f'keep_{tag}' if args.keep else os.getpid()}"
        admin = psycopg.connect(
            args.pg_url.replace("postgres://", "postgresql://"), autocommit=True
        )
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            say("PostgreSQL")
            base = args.pg_url.rsplit("/", 1)[0]
            results["postgresql"] = run_child(f"{base}/{name}", args.scale)
        finally:
            if not args.keep:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    text, ok = table(results)
    load = os.getloadavg()[0]
    print(
        f"\nSales dashboard, {os.cpu_count()} cores, load {load:.2f} at the end, scale {args.scale}:\n"
    )
    print(text)
    print("\nAll targets met." if ok else "\nA target was missed.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
