"""Durable work: claimed once, retried with backoff, handed out again when its worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.outbox.models import OutboxTask
from catalog.outbox.services import (
    Promise,
    durable_task,
    outbox_add,
    outbox_add_new,
    outbox_retry,
    outbox_run,
    outbox_sweep,
    retry_delay,
)
from catalog.requestid import request_id_set

pytestmark = pytest.mark.django_db

CALLS: list[dict] = []
FAILURES: list[int] = []


@durable_task
def note(*, value: int) -> None:
    if FAILURES and FAILURES[0] > 0:
        FAILURES[0] -= 1
        raise ConnectionError("the far end is down")
    CALLS.append({"value": value})


@durable_task(atomic=True)
def note_and_write(*, value: int) -> None:
    CALLS.append({"value": value})
    OutboxTask.objects.create(key=f"written-{value}", task_path="x")
    if FAILURES and FAILURES[0] > 0:
        FAILURES[0] -= 1
        raise ConnectionError("failed after writing")


def _keep(*, values: list[int]) -> None:
    CALLS.append({"values": values})


keep = durable_task(_keep)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAILURES.clear()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """A transaction whose on-commit callbacks run, as they do outside the test's own."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _due(row: OutboxTask) -> None:
    OutboxTask.objects.filter(pk=row.pk).update(run_after=timezone.now() - timedelta(seconds=1))


def test_work_runs_on_commit_once_and_is_marked_done(commit):
    with commit(), transaction.atomic():
        row = outbox_add(note, key="k1", value=7)
        again = outbox_add(note, key="k1", value=7)
        assert CALLS == []
    assert again.pk == row.pk
    row.refresh_from_db()
    assert CALLS == [{"value": 7}]
    assert row.status == OutboxTask.Status.DONE and row.attempts == 1 and row.done_at
    # A second copy of the task (a duplicate in a queue) finds it done and does nothing.
    assert outbox_run(outbox_id=row.pk, work=lambda **_: CALLS.append({"again": 1})) is False
    assert CALLS == [{"value": 7}]


def test_nothing_is_promised_when_the_change_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_add(note, key="k2", value=1)
        raise RuntimeError("the change failed")
    assert not OutboxTask.objects.exists() and CALLS == []


def test_work_never_enqueued_is_handed_out_by_the_sweep(django_capture_on_commit_callbacks):
    # The process died between the commit and the enqueue: the callbacks never ran.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        row = outbox_add(note, key="k3", value=3)
    assert CALLS == []
    assert outbox_sweep() == 0  # not before its lease: the enqueue may still be on its way
    _due(row)
    assert outbox_sweep() == 1
    row.refresh_from_db()
    assert CALLS == [{"value": 3}] and row.status == OutboxTask.Status.DONE


def test_a_failure_is_retried_with_doubling_delays_then_failed_for_staff(settings, commit):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    FAILURES.append(99)
    with commit(), transaction.atomic():
        row = outbox_add(note, key="k4", value=4)
    row.refresh_from_db()
    assert row.status == OutboxTask.Status.PENDING and row.attempts == 1
    assert "ConnectionError: the far end is down" in row.last_error
    waited = (row.run_after - timezone.now()).total_seconds()
    assert 25 < waited <= 30
    _due(row)
    outbox_sweep()
    row.refresh_from_db()
    assert row.attempts == 2 and 55 < (row.run_after - timezone.now()).total_seconds() <= 60
    _due(row)
    outbox_sweep()
    row.refresh_from_db()
    assert row.status == OutboxTask.Status.FAILED and row.attempts == 3
    _due(row)
    assert outbox_sweep() == 0  # failed rows wait for a person
    FAILURES[0] = 0
    outbox_retry(outbox_id=row.pk)
    outbox_sweep()
    row.refresh_from_db()
    assert row.status == OutboxTask.Status.DONE and CALLS == [{"value": 4}]


def test_retry_delays_double_up_to_the_ceiling(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    settings.OUTBOX_RETRY_MAX_SECONDS = 200
    assert [retry_delay(n) for n in range(1, 6)] == [30, 60, 120, 200, 200]


def test_a_row_left_running_by_a_dead_worker_is_run_again_after_its_lease():
    row = OutboxTask.objects.create(
        key="k5",
        task_path=note.module_path,
        kwargs={"value": 5},
        status=OutboxTask.Status.RUNNING,
        attempts=1,
        run_after=timezone.now() + timedelta(seconds=60),
    )
    # A live lease: nobody else may take it.
    assert outbox_sweep() == 0
    assert outbox_run(outbox_id=row.pk, work=lambda **_: None) is False
    _due(row)
    assert outbox_sweep() == 1
    row.refresh_from_db()
    assert row.status == OutboxTask.Status.DONE and row.attempts == 2 and CALLS == [{"value": 5}]


def test_atomic_work_and_its_done_marker_commit_together(commit):
    FAILURES.append(1)
    with commit(), transaction.atomic():
        row = outbox_add(note_and_write, key="k6", value=6)
    row.refresh_from_db()
    # The failed attempt's writes are gone with it; the attempt itself is counted.
    assert not OutboxTask.objects.filter(key="written-6").exists()
    assert row.status == OutboxTask.Status.PENDING and row.attempts == 1
    _due(row)
    outbox_sweep()
    assert OutboxTask.objects.filter(key="written-6").count() == 1
    assert OutboxTask.objects.get(pk=row.pk).status == OutboxTask.Status.DONE


def test_the_request_id_is_kept_with_the_row_and_set_while_it_runs():
    from catalog.requestid import current

    seen = []
    with request_id_set("req-abc"), transaction.atomic():
        row = OutboxTask.objects.create(key="k7", task_path=note.module_path, kwargs={})
        row = outbox_add(note, key="k8", value=8)
    assert row.request_id == "req-abc"
    OutboxTask.objects.filter(pk=row.pk).update(status=OutboxTask.Status.PENDING)
    outbox_run(outbox_id=row.pk, work=lambda **_: seen.append(current.get()))
    assert seen == ["req-abc"]


def test_several_promises_are_one_insert_and_each_runs_once_on_commit(commit):
    promises = [Promise(note, f"many-{n}", {"value": n}) for n in range(3)]
    with commit(), transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            rows = outbox_add_new(promises)
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
        assert CALLS == []
    assert CALLS == [{"value": 0}, {"value": 1}, {"value": 2}]
    assert [r.key for r in rows] == ["many-0", "many-1", "many-2"]
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}


def test_a_new_promise_whose_key_exists_undoes_the_change_it_came_with():
    OutboxTask.objects.create(key="taken", task_path=note.module_path, kwargs={"value": 1})
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxTask.objects.create(key="the-change", task_path=note.module_path)
        outbox_add_new([Promise(note, "taken", {"value": 2})])
    assert list(OutboxTask.objects.values_list("key", flat=True)) == ["taken"]


def test_a_run_on_commit_is_handed_the_row_it_wrote_as_the_database_keeps_it(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as enqueues, transaction.atomic():
        row = outbox_add(keep, key="k9", values=(1, 2))
    with CaptureQueriesContext(connection) as queries:
        for enqueue in enqueues:
            enqueue()
    # The claim and the done marker only: the row was not read back ...
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE", "UPDATE"]
    # ... and its arguments are what a worker reading it gets (JSON: a list, not a tuple).
    assert CALLS == [{"values": [1, 2]}]
    row.refresh_from_db()
    assert row.status == OutboxTask.Status.DONE and row.attempts == 1
    OutboxTask.objects.filter(pk=row.pk).update(status=OutboxTask.Status.PENDING)
    assert outbox_run(outbox_id=row.pk, work=_keep) is True
    assert CALLS == [{"values": [1, 2]}, {"values": [1, 2]}]


@pytest.mark.django_db(transaction=True)
def test_work_done_while_the_database_went_away_is_marked_done_once_it_is_back(monkeypatch):
    """A mail sent, then the connection cut before the done marker: the marker is written
    on a new connection, so the clock never hands the row out again (the mail goes once)."""
    from django.db import OperationalError
    from django.db.models import QuerySet

    from catalog.outbox import services

    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)
    with transaction.atomic():
        row = outbox_add(note, key="cut-after-work", value=7)
    # Its on-commit run went through already; run it again from pending, by hand.
    CALLS.clear()
    OutboxTask.objects.filter(pk=row.pk).update(status="pending", run_after=timezone.now())
    real_update, cuts = QuerySet.update, []

    def update(queryset, **values):
        if values.get("status") == "done" and len(cuts) < 2:
            cuts.append(values)
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(queryset, **values)

    monkeypatch.setattr(QuerySet, "update", update)
    assert outbox_run(outbox_id=row.pk, work=note.func.__wrapped__)
    monkeypatch.setattr(QuerySet, "update", real_update)
    assert CALLS == [{"value": 7}] and len(cuts) == 2  # the work once, the marker retried
    row.refresh_from_db()
    assert row.status == "done"
    later = timezone.now() + timedelta(days=1)
    assert outbox_sweep(now=later) == 0  # nothing left running to hand out again
