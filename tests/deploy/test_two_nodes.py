"""Two nodes behind nginx, a worker and a clock, on PostgreSQL, Redis and SeaweedFS.

One long test, in the order an operator meets things: two releases at once
on a fresh database; a seller signs up on one node and uploads through the
other; a buyer pays on one and downloads from the other; a limit counted on
both nodes together; a worker killed while it sends a receipt; a node
killed during a stream of purchases. It prints its figures.
"""

# ruff: noqa: S608 - the SQL is made of this test's own constants
from __future__ import annotations

import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.cluster import Browser, Cluster, buy, missing_parts, open_shop, running_cluster, wav
from tests.s3server import running_s3_server, weed_binary

pytestmark = [pytest.mark.slow]

RECEIPT = "receipt and downloads"
STREAM = 30


@pytest.fixture(scope="module")
def cluster():
    reason = missing_parts() or (None if weed_binary() else "no `weed` binary")
    if reason:
        pytest.skip(reason)
    work = Path(tempfile.mkdtemp(prefix="echoppe-2n-"))
    with (
        running_s3_server() as s3,
        running_cluster(
            work,
            s3,
            extra_env={"LIMIT_MAIL_RECIPIENT": "3/1h", "LIMIT_MAIL_SENDER": "1000/1h"},
        ) as running,
    ):
        yield running


def test_two_nodes_lose_and_duplicate_nothing(cluster: Cluster) -> None:
    figures: dict[str, object] = {}
    a, b, front = cluster.node_url(0), cluster.node_url(1), cluster.front_url

    # --- two releases at once on a fresh database ---------------------------------
    began = time.monotonic()
    releases = cluster.releases(2)
    assert [r.returncode for r in releases] == [0, 0], [r.stdout[-2000:] for r in releases]
    assert sum("Applying " in r.stdout for r in releases) == 1
    figures["two releases at once (s)"] = round(time.monotonic() - began, 1)

    cluster.start_node(0)
    cluster.start_node(1)
    cluster.start_nginx()
    cluster.start_worker()
    cluster.start_clock()
    ready = requests.get(f"{front}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
    assert re.fullmatch(r"[0-9a-f]{32}", ready.headers["X-Request-ID"])

    # --- a seller signs up on node A and uploads through node B -------------------
    track = wav()
    product = open_shop(cluster, signup_on=a, upload_on=b, track=track)
    assert requests.get(front + product["path"], timeout=10).status_code == 200

    # --- a buyer pays on node A and downloads from node B -------------------------
    buyer, receipt_path, _ = buy(cluster, a, b, product, "fan@example.com")
    page = buyer.get(b + receipt_path)
    assert page.status_code == 200
    # A lossless track is offered in a format picker (a GET form); the original is its default.
    file_link = re.search(r'(?:href|action)="(/orders/[^"]+/files/[^"]+)"', page.text)
    assert file_link, page.text[:2000]
    # Node A signs, SeaweedFS serves.
    download = buyer.get(a + file_link.group(1), params={"format": "original"})
    assert download.status_code == 200 and download.content == track
    assert any(r.status_code == 302 for r in download.history)

    # --- a limit counted on both nodes together -----------------------------------
    cluster.wait_for("the first receipt", lambda: cluster.inbox.to("fan@example.com"))
    answers = []
    visitor = Browser()
    visitor.get(f"{a}/library/lost/")
    for number in range(8):
        node = (a, b)[number % 2]
        answers.append(
            visitor.post(f"{node}/library/lost/", {"email": "fan@example.com"}).status_code
        )
    assert answers.count(429) == 5, answers
    cluster.wait_for(
        "queued mail sent",
        lambda: (
            cluster.count(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY','RUNNING')"
            )
            == 0
        ),
    )
    links = [m for m in cluster.inbox.to("fan@example.com") if RECEIPT not in m.subject]
    assert len(links) == 3, [m.subject for m in cluster.inbox.to("fan@example.com")]
    figures["library-link requests on 2 nodes, limit 3"] = f"{answers.count(429)} refused, 3 sent"

    # --- a worker killed while it sends a receipt ---------------------------------
    assert cluster.relay is not None
    cluster.relay.hold.set()  # the mail server accepts and never greets
    buy(cluster, front, front, product, "held@example.com")
    order_id = cluster.sql("SELECT id FROM shop_order WHERE buyer_email = 'held@example.com'")[0][0]
    key = f"order:{order_id}:receipt"

    def receipt_status() -> list[str]:
        return cluster.sql(f"SELECT status, attempts FROM outbox_outboxtask WHERE key = '{key}'")[0]

    cluster.wait_for("the worker to take the receipt", lambda: receipt_status()[0] == "running")
    time.sleep(0.5)
    cluster.procs["worker"].kill()
    cluster.relay.release()
    assert cluster.inbox.to("held@example.com") == []
    killed_at = time.monotonic()
    cluster.start_worker("worker2")
    cluster.wait_for("the receipt after the restart", lambda: receipt_status()[0] == "done")
    figures["receipt of a killed worker sent after (s)"] = round(time.monotonic() - killed_at, 1)
    assert receipt_status() == ["done", "2"]
    held = [m for m in cluster.inbox.to("held@example.com") if RECEIPT in m.subject]
    assert len(held) == 1

    # --- a node SIGKILLed during a stream of purchases ----------------------------
    retries = []
    done = threading.Event()
    started = time.monotonic()

    def one(number: int) -> None:
        _, _, retried = buy(cluster, front, front, product, f"stream-{number}@example.com")
        retries.append(retried)
        if len(retries) == STREAM // 3:
            done.set()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(one, number) for number in range(STREAM)]
        done.wait(120)
        cluster.procs["node0"].kill()
        killed_after = len(retries)
        for future in futures:
            future.result()
    figures["purchases through nginx, node A killed after"] = f"{STREAM}, {killed_after}"
    figures["purchases per second with a node killed"] = round(
        STREAM / (time.monotonic() - started), 1
    )
    figures["buyer retries (same form sent again)"] = sum(retries)

    stream = "buyer_email LIKE 'stream-%@example.com'"
    cluster.wait_for(
        "every promised mail sent",
        lambda: cluster.count("SELECT count(*) FROM outbox_outboxtask WHERE status <> 'done'") == 0,
        timeout=120,
    )
    orders = cluster.count(f"SELECT count(*) FROM shop_order WHERE {stream}")
    paid = cluster.count(f"SELECT count(*) FROM shop_order WHERE {stream} AND status = 'paid'")
    entitlements = cluster.count(
        "SELECT count(DISTINCT i.entitlement_id) FROM shop_orderitem i "
        f"JOIN shop_order o ON o.id = i.order_id WHERE o.{stream}"
    )
    ledger = cluster.count(
        "SELECT count(*) FROM shop_ledgerentry l JOIN shop_orderitem i ON i.id = l.item_id "
        f"JOIN shop_order o ON o.id = i.order_id WHERE o.{stream} AND l.kind = 'sale'"
    )
    receipts = [
        m
        for number in range(STREAM)
        for m in cluster.inbox.to(f"stream-{number}@example.com")
        if RECEIPT in m.subject
    ]
    figures["orders = paid = entitlements = ledger rows = receipts"] = (
        f"{orders} = {paid} = {entitlements} = {ledger} = {len(receipts)}"
    )
    print("\nTwo nodes behind nginx:")
    for name, value in figures.items():
        print(f"  {name:<52} {value}")
    assert orders == paid == entitlements == ledger == len(receipts) == STREAM
    # The node that survived answered everything; readiness holds on it.
    assert requests.get(f"{b}/readyz", timeout=10).status_code == 200
