"""The download log: one statement per request, counted exactly, no lock held."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery import access
from delivery.models import Download
from delivery.services import Logged, _record_sql, download_record, entitlement_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(product, pdf_asset):
    return entitlement_grant(email="fan@example.com", product=product), pdf_asset


def _get(entitlement, asset, ip="198.51.100.7", now=None):
    return download_record(
        entitlement=entitlement, asset=asset, ip=ip, user_agent="t", range_header="", now=now
    )


def test_a_resume_from_a_network_already_seen_writes_nothing(owned):
    entitlement, asset = owned
    assert _get(entitlement, asset).outcome is Logged.COUNTED
    assert _get(entitlement, asset, ip="198.51.100.99").outcome is Logged.COVERED
    assert Download.objects.count() == 1


def test_a_resume_from_another_network_is_logged_uncounted_once(owned):
    entitlement, asset = owned
    _get(entitlement, asset)
    assert _get(entitlement, asset, ip="203.0.113.5").outcome is Logged.LOGGED
    assert _get(entitlement, asset, ip="203.0.113.6").outcome is Logged.COVERED
    rows = Download.objects.order_by("id")
    assert [(r.counted, r.number, r.network) for r in rows] == [
        (True, 1, "198.51.100.0/24"),
        (False, None, "203.0.113.0/24"),
    ]


def test_counted_downloads_are_numbered_one_window_after_another(owned):
    entitlement, asset = owned
    now = timezone.now()
    for hours in (3, 2, 1, 0):
        assert _get(entitlement, asset, now=now - timedelta(hours=hours)).outcome is Logged.COUNTED
    assert list(Download.objects.order_by("at").values_list("number", flat=True)) == [1, 2, 3, 4]


def test_the_number_never_passes_the_limit(owned):
    entitlement, asset = owned
    entitlement.download_limit = 1
    entitlement.save()
    _get(entitlement, asset, now=timezone.now() - timedelta(hours=2))
    assert _get(entitlement, asset).outcome is Logged.REFUSED
    assert Download.objects.count() == 1


def test_the_view_refuses_when_the_limit_went_to_a_parallel_request(client, owned, monkeypatch):
    entitlement, asset = owned
    entitlement.download_limit = 1
    entitlement.save()
    gate = access.access_file_link

    def gate_then_a_parallel_download(token, **kwargs):
        granted = gate(token, **kwargs)
        # Between the gate and the log: another request used the last download.
        Download.objects.create(
            entitlement=entitlement,
            asset=asset,
            at=granted.at - timedelta(hours=1),
            counted=True,
            number=1,
        )
        return granted

    monkeypatch.setattr(access, "access_file_link", gate_then_a_parallel_download)
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    response = client.get(reverse("delivery:download", kwargs={"signed": signed}))
    assert response.status_code == 403
    assert Download.objects.count() == 1


def test_a_head_or_a_resume_through_the_view_adds_no_row(client, owned):
    entitlement, asset = owned
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    url = reverse("delivery:download", kwargs={"signed": signed})
    for _ in range(5):
        assert client.get(url, HTTP_RANGE="bytes=0-9").status_code == 206
    assert Download.objects.count() == 1


@pytest.mark.parametrize("limit", [None, 3])
def test_the_gate_says_when_the_log_already_covers_a_request(owned, limit):
    entitlement, asset = owned
    entitlement.download_limit = limit
    entitlement.save()
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    home, away = "198.51.100.0/24", "203.0.113.0/24"
    assert not access.access_file_link(signed, network=home).covered  # nothing counted yet
    _get(entitlement, asset)  # counted, from 198.51.100.7
    assert access.access_file_link(signed, network=home).covered
    assert not access.access_file_link(signed, network=away).covered  # a new network is logged
    # Once the window is over, the next request is a new download again.
    later = Download.objects.get()
    later.at = timezone.now() - timedelta(hours=1)
    later.save()
    assert not access.access_file_link(signed, network=home).covered


def test_a_covered_resume_runs_the_gate_read_only(client, owned):
    entitlement, asset = owned
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    url = reverse("delivery:download", kwargs={"signed": signed})
    with CaptureQueriesContext(connection) as first:
        assert client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200
    with CaptureQueriesContext(connection) as resume:
        assert (
            client.get(url, REMOTE_ADDR="198.51.100.8", HTTP_RANGE="bytes=0-9").status_code == 206
        )
    with CaptureQueriesContext(connection) as elsewhere:
        assert client.get(url, REMOTE_ADDR="203.0.113.9", HTTP_RANGE="bytes=9-").status_code == 206
    inserts = [
        sum(q["sql"].lstrip().upper().startswith("INSERT") for q in run.captured_queries)
        for run in (first, resume, elsewhere)
    ]
    # Watched queries go through Django's cursor: every statement is seen here.
    assert inserts == [1, 0, 1]
    assert len(resume.captured_queries) == 1
    assert [(d.counted, d.network) for d in Download.objects.order_by("id")] == [
        (True, "198.51.100.0/24"),
        (False, "203.0.113.0/24"),
    ]


def test_unwatched_statements_go_to_the_driver_with_the_same_answers(owned, monkeypatch):
    from delivery import services

    entitlement, asset = owned
    driver_calls = []
    rewrite = services._sqlite_placeholders
    monkeypatch.setattr(
        services,
        "_sqlite_placeholders",
        lambda sql: driver_calls.append(sql) or rewrite(sql),
    )
    signed = access.file_link_mint(entitlement=entitlement, asset=asset)
    access.access_file_link(signed)  # connects, if this thread had not yet
    assert _get(entitlement, asset).outcome is Logged.COUNTED
    granted = access.access_file_link(signed, network="198.51.100.0/24")
    assert granted.covered and granted.asset.pk == asset.pk
    with CaptureQueriesContext(connection) as watched:
        assert access.access_file_link(signed, network="198.51.100.0/24").covered
    if connection.vendor == "sqlite":
        assert len(driver_calls) >= 2  # the insert and a gate read went straight to SQLite
    else:
        assert driver_calls == []  # PostgreSQL's driver takes the statements as they are
    assert len(watched.captured_queries) == 1


def _plan(sql: str, params: dict) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE delivery_download")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("ANALYZE")
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_window_check_reads_the_index_of_counted_rows(owned):
    entitlement, asset = owned
    now = timezone.now()
    # A download manager's ranges before this log skipped them: many uncounted rows.
    Download.objects.bulk_create(
        Download(entitlement=entitlement, asset=asset, at=now - timedelta(seconds=n % 1500))
        for n in range(5000)
    )
    # Other buyers' downloads: the table is a shop's, not one buyer's.
    others = [
        entitlement_grant(email=f"other{n}@example.com", product=entitlement.product)
        for n in range(40)
    ]
    Download.objects.bulk_create(
        Download(
            entitlement=other,
            asset=asset,
            at=now - timedelta(hours=n),
            counted=n % 10 == 0,
            number=n // 10 + 1 if n % 10 == 0 else None,
        )
        for other in others
        for n in range(250)
    )
    # And a long history of counted downloads, each in its own window, long ago.
    Download.objects.bulk_create(
        Download(
            entitlement=entitlement,
            asset=asset,
            at=now - timedelta(days=400 - n),
            counted=True,
            number=n + 1,
        )
        for n in range(300)
    )
    ops = connection.ops
    params = {
        "e": entitlement.pk,
        "a": asset.pk,
        "at": ops.adapt_datetimefield_value(now),
        "start": ops.adapt_datetimefield_value(now - timedelta(minutes=30)),
        "ip": "198.51.100.7",
        "network": "198.51.100.0/24",
        "agent": "t",
        "range": "",
        "limit": 3,
    }
    for limited in (False, True):
        plan = _plan(_record_sql(connection.vendor, limited=limited), params)
        assert "download_counted_window" in plan, plan
        assert "download_counted_number_unique" in plan
    limit_plan = _plan(access._GRANT_SQL, {**params, "role": "deliverable"})
    assert "download_counted_window" in limit_plan


def _in_parallel(count: int, action) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(slot: int) -> None:
        try:
            barrier.wait()
            results[slot] = action()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_for_one_file_count_once_and_never_pass_the_limit(product, pdf_asset):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    entitlement = entitlement_grant(email="fan@example.com", product=product, download_limit=3)
    asset = pdf_asset
    long_ago = timezone.now() - timedelta(hours=5)
    for n in (1, 2):
        Download.objects.create(
            entitlement=entitlement, asset=asset, at=long_ago, counted=True, number=n
        )
    now = timezone.now()
    outcomes = _in_parallel(8, lambda: _get(entitlement, asset, now=now).outcome)
    assert outcomes.count(Logged.COUNTED) == 1
    assert set(outcomes) <= {Logged.COUNTED, Logged.COVERED}
    assert Download.objects.filter(counted=True).count() == 3
    # Its window over, the limit is reached: parallel requests all refused, none counted.
    Download.objects.update(at=long_ago)
    later = timezone.now()
    outcomes = _in_parallel(8, lambda: _get(entitlement, asset, now=later).outcome)
    assert outcomes == [Logged.REFUSED] * 8
    assert Download.objects.filter(counted=True).count() == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_windows_number_every_counted_download_once(product, pdf_asset):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    base = timezone.now() - timedelta(days=1)
    # Each thread's request lands in its own window: at most all of them count,
    # each with its own number, whatever order they commit in.
    slots = iter(range(8))
    lock = threading.Lock()

    def one() -> Logged:
        with lock:
            slot = next(slots)
        return _get(entitlement, pdf_asset, now=base + timedelta(hours=slot)).outcome

    outcomes = _in_parallel(8, one)
    numbers = list(
        Download.objects.filter(counted=True).order_by("number").values_list("number", flat=True)
    )
    assert numbers == list(range(1, len(numbers) + 1))
    assert outcomes.count(Logged.COUNTED) == len(numbers) >= 1


@pytest.mark.parametrize("micro", [0, 1, 999999])
def test_the_fast_time_parameter_is_what_django_would_send(micro):
    from delivery.services import db_datetime

    at = timezone.now().replace(microsecond=micro)
    assert db_datetime(connection, at) == connection.ops.adapt_datetimefield_value(at)
    # Another zone is taken the long way, to the same value.
    paris = at.astimezone(timezone.get_fixed_timezone(60))
    assert db_datetime(connection, paris) == connection.ops.adapt_datetimefield_value(paris)
