"""Bounded mixed traffic against one node and against two nodes behind nginx, with faults.

    python bench/load.py                       # about 3 minutes
    python bench/load.py --requests 400 --clients 6

On loopback, with real processes (tests/cluster.py): PostgreSQL (a fresh
database, dropped after), Redis, SeaweedFS, two gunicorn nodes as in the
Procfile, nginx, a worker and a clock. A seller lists one product with a
file, then each setup gets the same bounded traffic from ``--clients``
threads: browsing (home, seller and product pages, a search for the product's
title word and for a word nothing has), purchases (product page,
checkout, test payment) and downloads (receipt page, file link, the bucket's
presigned GET). Faults, in the middle of each run:

- one node: every database connection cut (``pg_terminate_backend``) once;
- two nodes: the connections cut, then one node SIGKILLed.

A buyer who gets an error page or a dropped connection sends the same form
again (that is what "resends" counts; checkout and payment are idempotent).
"errors" counts every answer ≥ 500 and every dropped connection before a
resend. Afterwards, once the worker is done: orders, entitlements and
receipts of each run, which must be equal.

The worker and the clock are restarted when they exit, as systemd's
``Restart=always`` does (docs/deploy/systemd/); their restarts are printed.
"""

# ruff: noqa: S608 - the SQL is made of this script's own constants
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster import (  # noqa: E402
    Browser,
    Cluster,
    buy,
    missing_parts,
    open_shop,
    running_cluster,
    wav,
)
from tests.s3server import running_s3_server, weed_binary  # noqa: E402

RECEIPT = "receipt and downloads"


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    resends: int = 0
    emails: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            self.errors += not ok


class Timed(Browser):
    """A visitor whose every request is timed and counted in a run."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run

    def _timed(self, call, *args, **kwargs) -> requests.Response:
        started = time.perf_counter()
        try:
            response = call(*args, **kwargs)
        except requests.ConnectionError:
            self.run.record(started, False)
            raise
        self.run.record(started, response.status_code < 500)
        return response

    def get(self, url: str, **options: object) -> requests.Response:
        return self._timed(super().get, url, **options)

    def post(self, url: str, data: dict[str, str], **options: object) -> requests.Response:
        return self._timed(super().post, url, data, **options)


class Supervisor:
    """Restarts the worker and the clock when they exit, as systemd would."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.restarts = {"worker": 0, "clock": 0}
        self.stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self.stop.wait(0.5):
            for name in self.restarts:
                proc = self.cluster.procs.get(name)
                if proc is not None and proc.popen.poll() is not None:
                    self.restarts[name] += 1
                    if name == "worker":
                        self.cluster.start_worker()
                    else:
                        self.cluster.start_clock()


def cut_connections(cluster: Cluster) -> int:
    return len(
        cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{cluster.database}' AND pid <> pg_backend_pid()"
        )
    )


def traffic(
    cluster: Cluster,
    run: Run,
    *,
    base: str,
    product: dict,
    total: int,
    clients: int,
    faults: list[tuple[float, str]],
) -> None:
    """``total`` requests (about) from ``clients`` threads; ``faults`` at fractions done."""
    done = 0
    counter = threading.Lock()
    seller_path = product["path"].rsplit("/", 2)[0] + "/"
    # The shop's search (catalog/discovery), a match and a miss, among the pages browsed.
    pages = ["/", seller_path, product["path"], "/search/?q=trains", "/search/?q=zephyrine"]

    def take(n: int) -> bool:
        nonlocal done
        with counter:
            if done >= total:
                return False
            done += n
            return True

    def client(slot: int) -> None:
        rng = random.Random(slot)
        visitor = Timed(run)
        receipts: list[tuple[Browser, str]] = []
        number = 0
        while True:
            roll = rng.random()
            try:
                if roll < 0.25 and take(3):
                    number += 1
                    email = f"{run.name}-{slot}-{number}@example.com"
                    buyer = Timed(run)
                    _, receipt, resent = buy(cluster, base, base, product, email, browser=buyer)
                    with run.lock:
                        run.resends += resent
                        run.emails.append(email)
                    receipts.append((buyer, receipt))
                elif roll < 0.40 and receipts and take(3):
                    buyer, receipt = rng.choice(receipts)
                    page = buyer.get(base + receipt)
                    link = re.search(r'href="(/orders/[^"]+/files/[^"]+)"', page.text)
                    if link:
                        buyer.get(base + link.group(1))
                elif take(1):
                    visitor.get(base + rng.choice(pages))
                else:
                    return
            except (requests.ConnectionError, AssertionError):
                continue  # counted as an error; the visitor goes on

    pending = sorted(faults)
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, slot) for slot in range(clients)]
        while pending and not all(f.done() for f in futures):
            at, fault = pending[0]
            if done >= at * total:
                pending.pop(0)
                if fault == "cut":
                    print(f"  [{run.name}] cut {cut_connections(cluster)} database connections")
                elif fault.startswith("kill:"):
                    cluster.procs[fault[5:]].kill()
                    print(f"  [{run.name}] SIGKILL {fault[5:]}")
            time.sleep(0.05)
        for future in futures:
            future.result()
    run.seconds = time.perf_counter() - began


def tally(cluster: Cluster, run: Run) -> tuple[int, int, int]:
    like = f"buyer_email LIKE '{run.name}-%@example.com'"
    orders = cluster.count(f"SELECT count(*) FROM shop_order WHERE {like} AND status = 'paid'")
    entitlements = cluster.count(
        "SELECT count(DISTINCT i.entitlement_id) FROM shop_orderitem i "
        f"JOIN shop_order o ON o.id = i.order_id WHERE o.{like}"
    )
    receipts = sum(
        1 for email in run.emails for m in cluster.inbox.to(email) if RECEIPT in m.subject
    )
    return orders, entitlements, receipts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="per setup (600)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent visitors (8)")
    options = parser.parse_args()
    reason = missing_parts() or (None if weed_binary() else "no `weed` binary")
    if reason:
        print(f"Cannot run: {reason}")
        return 2
    work = Path(tempfile.mkdtemp(prefix="echoppe-load-"))
    with (
        running_s3_server() as s3,
        running_cluster(work, s3, extra_env={"LIMIT_MAIL_SENDER": "100000/1h"}) as cluster,
    ):
        cluster.manage("release")
        for index in range(2):
            cluster.start_node(index)
        cluster.start_nginx()
        cluster.start_worker()
        cluster.start_clock()
        supervisor = Supervisor(cluster)
        product = open_shop(
            cluster, signup_on=cluster.node_url(0), upload_on=cluster.node_url(0), track=wav()
        )
        runs = [Run("one"), Run("two")]
        print(f"Traffic: {options.requests} requests per setup, {options.clients} clients")
        traffic(
            cluster,
            runs[0],
            base=cluster.node_url(0),
            product=product,
            total=options.requests,
            clients=options.clients,
            faults=[(0.5, "cut")],
        )
        traffic(
            cluster,
            runs[1],
            base=cluster.front_url,
            product=product,
            total=options.requests,
            clients=options.clients,
            faults=[(0.33, "cut"), (0.66, "kill:node1")],
        )
        cluster.wait_for(
            "every promised mail sent",
            lambda: (
                cluster.count("SELECT count(*) FROM outbox_outboxtask WHERE status <> 'done'") == 0
            ),
            timeout=300,
        )
        supervisor.stop.set()
        header = (
            f"{'setup':<28}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'errors':>8}{'resends':>8}{'orders':>8}{'entitl.':>8}{'receipts':>9}"
        )
        print("\n" + header)
        labels = {
            "one": "1 node, db cut",
            "two": "2 nodes + nginx, db cut, kill",
        }
        rates = {}
        exact = True
        for run in runs:
            orders, entitlements, receipts = tally(cluster, run)
            exact &= orders == entitlements == receipts == len(run.emails)
            ms = sorted(x * 1000 for x in run.latencies)
            rates[run.name] = len(ms) / run.seconds
            p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            print(
                f"{labels[run.name]:<28}{len(ms):>9}{rates[run.name]:>8.1f}"
                f"{statistics.median(ms):>8.0f}{p99:>8.0f}{run.errors:>8}{run.resends:>8}"
                f"{orders:>8}{entitlements:>8}{receipts:>9}"
            )
        print(f"\nratio, two nodes / one node (req/s): {rates['two'] / rates['one']:.2f}")
        print(
            f"worker restarts {supervisor.restarts['worker']}, clock restarts "
            f"{supervisor.restarts['clock']}"
        )
        print("orders = entitlements = receipts:", "exact" if exact else "NOT EQUAL")
        return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
