"""Listing and search pages at scale: 100,000 products from 2,000 sellers.

For each database (SQLite in a temporary directory; PostgreSQL when
``--database-url`` names a server, on a fresh database dropped afterwards),
it fills the catalog with ``bulk_create`` (one seller has 2,000 products, the
others about 49 each; 50 tags, two per product; a common word in a third of
the titles, a rare one in three), builds the search index with the real
``search_reindex``, starts the app under gunicorn as in the Procfile
(gthread, 2 workers, 8 threads) and measures requests/s for each page next to
a bare Django view (``bench/bare_urls.py``) under the same gunicorn, in the
same run:

home, a deep listing page (a cursor halfway in), the last page, a tag page,
a search for a common word, a search for a rare word, a product page, the
page of the 2,000-product seller, a sitemap section, a tag's Atom feed, and
whole test-mode checkouts (product page, order, payment, receipt: their
requests per second). ``--scales 1000,10000,100000`` runs it at each catalog
size, to show whether time grows with the catalog.

Usage::

    python bench/pages.py [--seconds 5] [--connections 4] [--scales 1000,10000,100000]
    python bench/pages.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Nothing here is run by the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# The process helpers and the load generator of the delivery benchmark.
_spec = importlib.util.spec_from_file_location("bench_delivery", ROOT / "bench" / "delivery.py")
assert _spec and _spec.loader
bench_delivery = importlib.util.module_from_spec(_spec)
sys.modules["bench_delivery"] = bench_delivery
_spec.loader.exec_module(bench_delivery)

PRODUCTS = 100_000
SELLERS = 2_000
BIG_SELLER_PRODUCTS = 2_000
TAGS = 50
COMMON = "night"
GOAL = 0.35
RARE = "zephyrine"
WORDS = [
    "river", "stone", "paper", "light", "winter", "garden", "echo", "velvet", "harbour",
    "signal", "copper", "meadow", "lantern", "orbit", "silver", "thunder", "hollow", "amber",
    "quiet", "north",
]  # fmt: skip


def big_seller_products(count: int) -> int:
    """The big seller's share: 2,000 products, or a fifth of a smaller catalog."""
    return min(BIG_SELLER_PRODUCTS, count // 5)


def sellers_for(count: int, asked: int) -> int:
    """About 49 products a seller, as in the full catalog."""
    return max(10, min(asked, count // 50))


def setup(count: int, sellers: int) -> None:
    """Run as ``pages.py --setup``: migrate, fill, index; prints the URLs to load as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    import random
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from catalog.discovery.selectors import PER_PAGE, cursor_encode
    from catalog.discovery.services import search_reindex
    from catalog.models import Product, Seller, Tag

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    rng = random.Random(7)
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"s{i}", email=f"s{i}@example.com") for i in range(sellers)],
        batch_size=1000,
    )
    users = list(user_model.objects.order_by("id"))
    now = timezone.now()
    Seller.objects.bulk_create(
        [
            Seller(user=u, slug=f"seller-{i}", display_name=f"Seller {i}", email_verified_at=now)
            for i, u in enumerate(users)
        ],
        batch_size=1000,
    )
    seller_ids = list(Seller.objects.order_by("id").values_list("id", flat=True))
    tags = Tag.objects.bulk_create([Tag(slug=f"tag-{i}") for i in range(TAGS)])
    started = time.monotonic()
    products = []
    big_count = big_seller_products(count)
    for n in range(count):
        seller = seller_ids[0] if n < big_count else rng.choice(seller_ids[1:])
        words = rng.sample(WORDS, 3)
        if n % 3 == 0:
            words.append(COMMON)
        if n in (10, count // 2, count - 10):
            words.append(RARE)
        price = rng.choice((0, 300, 500, 700, 900, 1200, 1500, 2000))
        products.append(
            Product(
                seller_id=seller,
                slug=f"p-{n}",
                title=" ".join(words).title(),
                kind=rng.choice(("ebook", "music", "video", "bundle")),
                description=f"A *work* about {' and '.join(rng.sample(WORDS, 5))}.",
                pricing="free" if price == 0 else "fixed",
                price=price,
                currency="EUR",
                status="published",
            )
        )
    Product.objects.bulk_create(products, batch_size=2000)
    ids = list(Product.objects.order_by("id").values_list("id", flat=True))
    through = Product.tags.through
    through.objects.bulk_create(
        [through(product_id=pk, tag_id=tag.pk) for pk in ids for tag in rng.sample(tags, 2)],
        batch_size=5000,
    )
    # Five minutes apart, two by two (ties for the cursor), over about five months.
    dated = [
        Product(pk=pk, created_at=now - timedelta(seconds=(len(ids) - n) // 2 * 300))
        for n, pk in enumerate(ids)
    ]
    Product.objects.bulk_update(dated, ["created_at"], batch_size=1000)
    filled = time.monotonic() - started
    started = time.monotonic()
    indexed = search_reindex()
    index_seconds = time.monotonic() - started
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk load (it is off on some servers,
        # this machine's among them): the statistics, without which PostgreSQL plans a tag
        # page by walking every product (19 ms instead of 3), and the dead rows of the
        # dates' update cleared, which the newest-first index walked past one by one (the
        # home page's query 1.3 ms instead of 0.1; decision 109).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    newest = Product.objects.filter(status="published").order_by("-created_at", "-id")
    deep = newest[count // 2]
    last = newest[count - PER_PAGE - 1]
    product = Product.objects.select_related("seller").order_by("id")[count // 2]
    bought = Product.objects.filter(pricing="fixed").select_related("seller").order_by("id")[0]
    big = Seller.objects.order_by("id").first()
    assert big is not None
    q = urllib.parse.quote
    print(
        json.dumps(
            {
                "filled_seconds": round(filled, 1),
                "index_seconds": round(index_seconds, 1),
                "indexed": indexed,
                "checkout": {"id": bought.pk, "path": bought.get_absolute_url()},
                "pages": {
                    "home": "/",
                    "deep listing (halfway in)": "/?after=" + q(cursor_encode("new", deep)),
                    "last page": "/?after=" + q(cursor_encode("new", last)),
                    "tag page": "/tags/tag-7/",
                    f"search, common word ({COMMON})": f"/search/?q={COMMON}",
                    f"search, rare word ({RARE})": f"/search/?q={RARE}",
                    "product page": product.get_absolute_url(),
                    f"seller page ({big_count:,} products)": big.get_absolute_url(),
                    "sitemap section (5,000 products)": "/sitemap-products.xml",
                    "Atom feed of a tag": "/feeds/tags/tag-7.atom",
                },
            }
        )
    )


def checkouts(base: str, product: dict, seconds: float, connections: int) -> float:
    """Whole test-mode checkouts by ``connections`` buyers at once: the product page, the
    order, the payment and the receipt, each buyer with its own cookies. Requests/s."""
    import requests

    stop_at = time.monotonic() + seconds
    counts = [0] * connections
    failures: list[str] = []

    def buyer(slot: int) -> None:
        session = requests.Session()
        n = 0
        while time.monotonic() < stop_at and not failures:
            n += 1
            steps = [session.get(base + product["path"])]
            key = secrets.token_urlsafe(24)
            order = session.post(
                f"{base}/checkout/{product['id']}/",
                {"email": f"buyer{slot}-{n}@example.com", "checkout_key": key},
                headers={"X-CSRFToken": session.cookies.get("csrftoken", "")},
                allow_redirects=False,
            )
            steps.append(order)
            if order.status_code == 302:
                steps.append(session.get(base + order.headers["Location"]))
                paid = session.post(
                    base + order.headers["Location"],
                    {"outcome": "pay"},
                    headers={"X-CSRFToken": session.cookies.get("csrftoken", "")},
                    allow_redirects=False,
                )
                steps.append(paid)
                if paid.status_code == 302:
                    steps.append(session.get(base + paid.headers["Location"]))
            bad = [
                f"{r.request.method} {r.url}: {r.status_code}"
                for r in steps
                if r.status_code >= 400
            ]
            if bad or len(steps) != 5:
                failures.append("; ".join(bad) or f"stopped after {len(steps)} steps")
                return
            counts[slot] += len(steps)

    return bench_delivery.in_threads(buyer, connections, counts, failures, "during checkouts")


Row = tuple[str, float, float, float | None, float | None]


def measured(pids: list[int], load: Callable[[], float]) -> tuple[float, float | None]:
    """Requests/s of ``load()``, and the server's CPU per request (user + system of every
    gunicorn worker, ms), which other work on a shared machine skews far less."""
    before, started = bench_delivery.workers_cpu_seconds(pids), time.monotonic()
    rate = load()
    served = rate * (time.monotonic() - started)
    cpu = bench_delivery.workers_cpu_seconds(pids) - before
    return rate, (cpu / served * 1000 if pids and served else None)


def run(database_url: str, label: str, args: argparse.Namespace, count: int) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix=f"echoppe-pages-{label}-"))
    logs = work
    port = bench_delivery.free_port()
    env = bench_delivery.app_environment(
        work,
        site_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        settings="bench.bare_settings",
        STATIC_ROOT=str(work / "static"),
        # The checkout row pays with the built-in test provider.
        TEST_PAYMENTS_ENABLED="true",
    )
    sellers = sellers_for(count, args.sellers)
    bench_delivery.say(f"{label}: filling {count:,} products, {sellers:,} sellers ...")
    result = subprocess.run(
        [sys.executable, __file__, "--setup", str(count), str(sellers)],
        env={**env, "DJANGO_SETTINGS_MODULE": "shop.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"setup failed:\n{result.stdout}\n{result.stderr}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    bench_delivery.say(
        f"{label}: filled in {info['filled_seconds']} s, indexed {info['indexed']:,} "
        f"in {info['index_seconds']} s"
    )
    command = [
        str(BIN / "gunicorn"), "shop.wsgi", "--worker-class", "gthread",
        "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    rows = []
    with (
        ExitStack() as cleanup,
        bench_delivery.running(f"gunicorn-{label}", command, env=env, logs=logs) as process,
    ):
        if not args.keep:
            cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        bench_delivery.wait_http(base + "/bench/bare-page", process, expect=lambda s: s == 200)
        pids = bench_delivery.worker_pids(process.popen.pid)

        def load(path: str) -> Callable[[], float]:
            return lambda: bench_delivery.load_python([base + path], args.seconds, args.connections)

        bare_load = load("/bench/bare-page")

        for name, path in info["pages"].items():
            bench_delivery.load_python([base + path], 1, 2)  # warm
            page, page_cpu = measured(pids, load(path))
            bare, bare_cpu = measured(pids, bare_load)
            rows.append((name, page, bare, page_cpu, bare_cpu))
            bench_delivery.say(f"{label}: {name}: {page:.0f} req/s (bare {bare:.0f})")
        checkouts(base, info["checkout"], 1, 1)  # warm
        page, page_cpu = measured(
            pids, lambda: checkouts(base, info["checkout"], args.seconds, args.connections)
        )
        bare, bare_cpu = measured(pids, bare_load)
        rows.append(("whole checkouts (5 requests each)", page, bare, page_cpu, bare_cpu))
        bench_delivery.say(f"{label}: checkouts: {page:.0f} req/s (bare {bare:.0f})")
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        setup(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--products", type=int, default=PRODUCTS)
    parser.add_argument("--sellers", type=int, default=SELLERS)
    parser.add_argument(
        "--scales",
        default="",
        help="catalog sizes to run, e.g. 1000,10000,100000 (default --products)",
    )
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to run on too")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args()
    scales = [int(n) for n in args.scales.split(",") if n.strip()] or [args.products]
    results: dict[tuple[str, int], list[Row]] = {}
    for count in scales:
        if not args.skip_sqlite:
            results[("SQLite", count)] = run("", "sqlite", args, count)
        if args.database_url:
            import psycopg

            name = f"echoppe_pages_{os.getpid()}_{count}"
            admin = psycopg.connect(args.database_url, autocommit=True)
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                url = args.database_url.rsplit("/", 1)[0] + "/" + name
                results[("PostgreSQL", count)] = run(url, "postgres", args, count)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.close()
    load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs; {args.connections} clients for {args.seconds:g} s per "
          f"figure; load average at the end {load:.1f}; goal: ratio >= {GOAL}\n")  # fmt: skip
    print("server CPU: user + system of the gunicorn workers per request, ms (page, bare)\n")
    for (label, count), rows in results.items():
        print(f"{label}, {count:,} products")
        print(f"{'page':<40} {'req/s':>8} {'bare':>8} {'ratio':>7}  goal", end="")
        print(f"  {'CPU ms':>7} {'bare':>6}")
        for name, page, bare, page_cpu, bare_cpu in rows:
            ratio = page / bare
            met = "yes" if ratio >= GOAL else "NO "
            cpu = f"{page_cpu:>7.2f} {bare_cpu:>6.2f}" if page_cpu and bare_cpu else ""
            print(f"{name:<40} {page:>8.0f} {bare:>8.0f} {ratio:>7.2f}  {met}   {cpu}")
        print()
    if len(scales) > 1:
        print("Ratio by catalog size (does time grow with the catalog?)")
        for label in dict.fromkeys(label for label, _count in results):
            names = [row[0] for row in results[(label, scales[0])]]
            print(f"{label:<40} " + " ".join(f"{count:>9,}" for count in scales))
            for n, name in enumerate(names):
                cells = []
                for count in scales:
                    row = results[(label, count)][n]
                    cells.append(f"{row[1] / row[2]:>9.2f}")
                print(f"  {name:<38} " + " ".join(cells))
            print()


if __name__ == "__main__":
    main()
