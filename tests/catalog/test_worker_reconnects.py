"""The worker outlives a database connection cut while it runs a task (``manage.py worker``).

PostgreSQL only: the cut is real (``pg_terminate_backend`` on the worker's
own connection while its task is running); a SQLite file has no connection
to cut.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, connections
from django_tasks import task
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from catalog.outbox.management.commands.worker import ReconnectingWorker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a SQLite file has no connection to cut"
    ),
]

running = threading.Event()
cut = threading.Event()
done: list[str] = []


@task()
def held_task() -> None:
    """Waits while the test cuts this thread's connection, then uses it."""
    running.set()
    assert cut.wait(10)
    get_user_model().objects.count()


@task()
def quick_task(name: str) -> None:
    done.append(name)


def _options(**extra):
    return dict(
        queue_names=["default"],
        interval=0.05,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
        **extra,
    )


def _cut_the_others() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _run(worker) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run()
        except BaseException as exc:  # what ends the thread is the test's result
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


@pytest.fixture
def queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    running.clear()
    cut.clear()
    done.clear()


def _cut_during_a_task() -> None:
    held_task.enqueue()
    assert running.wait(10), "the worker never started the task"
    assert _cut_the_others() >= 1
    cut.set()


def test_upstream_db_worker_dies_when_its_connection_is_cut(queue):
    worker = db_worker.Worker(**_options())
    thread, errors = _run(worker)
    _cut_during_a_task()
    thread.join(10)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], OperationalError)


def test_the_worker_reconnects_and_runs_the_next_task(queue):
    worker = ReconnectingWorker(**_options(reconnect_max=0.2))
    thread, errors = _run(worker)
    try:
        _cut_during_a_task()
        quick_task.enqueue("after the cut")
        deadline = time.monotonic() + 15
        while not done and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done == ["after the cut"]
        assert thread.is_alive() and errors == []
        assert worker.reconnections >= 1
        # The task the cut interrupted is left RUNNING, for the outbox's lease to hand on.
        statuses = dict(DBTaskResult.objects.values_list("task_path", "status"))
        assert statuses[held_task.module_path] == "RUNNING"
        assert statuses[quick_task.module_path] == "SUCCESSFUL"
    finally:
        worker.running = False
        thread.join(10)
    assert not thread.is_alive()
