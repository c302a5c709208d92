"""Durable background work: an outbox row written with the change, a task that finishes it.

A change that promises work (an order paid promises its receipt) calls
``outbox_add`` inside its own transaction: the row commits with the change
or not at all. On commit the task is enqueued at once; if that never happens
(the process died right after the commit, the queue was unreachable) or the
task dies with its worker, ``outbox_sweep`` (run by ``manage.py clock``)
hands the row out again once its ``run_after`` has passed.

A run first *claims* its row (one UPDATE from pending to running, with a
lease of ``OUTBOX_LEASE_SECONDS``, longer than any run), so two copies of a
task never run the work at once, and a row that is done is never run again.
Failure puts the row back to pending with an exponential backoff
(``OUTBOX_RETRY_BASE_SECONDS`` doubling, at most ``OUTBOX_RETRY_MAX_SECONDS``)
until ``OUTBOX_MAX_ATTEMPTS``; then it is failed, logged, and listed in the
admin, where staff can try it again.

With ``atomic=True`` the work and the done marker commit in one transaction
under the row's lock, so work that only writes to the database happens
exactly once. Work that talks to the world (a mail) cannot share a
transaction with it (decision 32): it is marked done right after it
succeeds, so only a crash inside that instant sends it twice.

Every backend works, the immediate one included: there a failure is
recorded and the sweeper runs the retry in the clock's process.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.base import Task

from catalog.outbox.models import OutboxTask
from catalog.requestid import current as current_request_id
from catalog.requestid import request_id_set

log = logging.getLogger(__name__)

Status = OutboxTask.Status


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failure."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS))


def durable_task(func: Callable[..., None] | None = None, *, atomic: bool = False) -> Any:
    """``@task()`` for keyword-only work enqueued with ``outbox_add``, claimed and retried.

    The task itself takes only ``outbox_id``; the arguments live in the row.
    """

    def wrap(work: Callable[..., None]) -> Task[..., None]:
        @functools.wraps(work)
        def run(*, outbox_id: int) -> None:
            outbox_run(outbox_id=outbox_id, work=work, atomic=atomic)

        durable: Task[..., None] = task()(run)
        return durable

    return wrap(func) if func is not None else wrap


def outbox_add(durable: Task[..., None], *, key: str, **kwargs: Any) -> OutboxTask:
    """Promise ``durable(**kwargs)`` once per ``key``, in the caller's transaction."""
    now = timezone.now()
    row, created = OutboxTask.objects.get_or_create(
        key=key,
        defaults={
            "task_path": durable.module_path,
            "kwargs": kwargs,
            "request_id": current_request_id.get(),
            # The sweeper leaves it to the enqueue below for a lease's time.
            "run_after": now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
            "created_at": now,
        },
    )
    if created:
        transaction.on_commit(lambda: _enqueue(durable, row.pk))
    return row


def outbox_later(durable: Task[..., None], *, key: str, after: int, **kwargs: Any) -> OutboxTask:
    """Promise ``durable(**kwargs)`` for the sweeper only, as if ``after`` attempts had
    failed already: for work whose first try just failed where it could not be deferred
    (the immediate backend), so the request does not wait for a second failure."""
    now = timezone.now()
    return OutboxTask.objects.create(
        key=key,
        task_path=durable.module_path,
        kwargs=kwargs,
        request_id=current_request_id.get(),
        attempts=after,
        run_after=now + timedelta(seconds=retry_delay(after)),
        created_at=now,
    )


def _enqueue(durable: Task[..., None], outbox_id: int) -> None:
    try:
        durable.enqueue(outbox_id=outbox_id)
    except Exception:
        # The row is committed: the sweeper hands it out when its run_after passes.
        log.exception("Could not enqueue %s for outbox row %s", durable.name, outbox_id)


def _claim(outbox_id: int, now: datetime) -> int:
    lease = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    free = OutboxTask.objects.filter(pk=outbox_id, status=Status.PENDING)
    return free.update(status=Status.RUNNING, run_after=lease, attempts=F("attempts") + 1)


def outbox_run(*, outbox_id: int, work: Callable[..., None], atomic: bool = False) -> bool:
    """Claim the row, do the work, record the outcome; False when there was nothing to do."""
    now = timezone.now()
    if atomic:
        with transaction.atomic():
            if not _claim(outbox_id, now):
                return False
            row = OutboxTask.objects.select_for_update().get(pk=outbox_id)
            try:
                with transaction.atomic(), request_id_set(row.request_id):
                    work(**row.kwargs)
            except Exception as exc:
                _failed(row, exc)
                return True
            _done(row)
        return True
    if not _claim(outbox_id, now):
        return False
    row = OutboxTask.objects.get(pk=outbox_id)
    try:
        with request_id_set(row.request_id):
            work(**row.kwargs)
    except Exception as exc:
        _failed(row, exc)
        return True
    _done(row)
    return True


# The done marker after work that talked to the world (a mail): written even across
# a cut database connection, or the clock would hand the row out again and the mail
# would go twice. About half a minute of tries, as long as the worker waits to reconnect.
OUTCOME_TRIES = 8


def _done(row: OutboxTask) -> None:
    def mark() -> None:
        OutboxTask.objects.filter(pk=row.pk).update(
            status=Status.DONE, done_at=timezone.now(), last_error=""
        )

    if connection.in_atomic_block:
        mark()  # the work's own transaction: it commits with it, or not at all
        return
    delay = 0.25
    for attempt in range(1, OUTCOME_TRIES + 1):
        try:
            mark()
            return
        except (OperationalError, InterfaceError):
            if attempt == OUTCOME_TRIES:
                raise
            log.warning("Outbox %s done, but the database is gone; marking it again", row.key)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 8)


def _failed(row: OutboxTask, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        OutboxTask.objects.filter(pk=row.pk).update(status=Status.FAILED, last_error=error)
        log.error(
            "Outbox %s failed for good after %d attempts: %s",
            row.key,
            row.attempts,
            error,
            exc_info=exc,
        )
        return
    delay = retry_delay(row.attempts)
    OutboxTask.objects.filter(pk=row.pk).update(
        status=Status.PENDING,
        run_after=timezone.now() + timedelta(seconds=delay),
        last_error=error,
    )
    log.warning(
        "Outbox %s failed (attempt %d), tried again in %d s: %s",
        row.key,
        row.attempts,
        delay,
        error,
    )


def outbox_sweep(*, now: datetime | None = None, batch: int = 500) -> int:
    """Hand out the rows that are due: retries, and running rows whose worker is gone."""
    now = now or timezone.now()
    handed = 0
    due = OutboxTask.objects.filter(
        status__in=[Status.PENDING, Status.RUNNING], run_after__lte=now
    ).order_by("run_after")[:batch]
    for row in due:
        try:
            durable = import_string(row.task_path)
        except ImportError:
            OutboxTask.objects.filter(pk=row.pk).update(
                status=Status.FAILED, last_error=f"No task {row.task_path}"
            )
            log.error("Outbox %s names no task (%s)", row.key, row.task_path)
            continue
        # Pending again (a running row's lease is over: its worker is gone), and left
        # alone for a lease's time so a long queue does not get it twice. Matched on
        # what was read, so two clocks hand a row out once.
        taken = OutboxTask.objects.filter(
            pk=row.pk, status=row.status, run_after=row.run_after
        ).update(
            status=Status.PENDING,
            run_after=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        )
        if taken:
            if row.status == Status.RUNNING:
                log.warning("Outbox %s was left running; handed out again", row.key)
            _enqueue(durable, row.pk)
            handed += 1
    return handed


def outbox_retry(*, outbox_id: int) -> None:
    """Staff's "try again": a failed row gets a fresh set of attempts, now."""
    OutboxTask.objects.filter(pk=outbox_id, status=Status.FAILED).update(
        status=Status.PENDING, attempts=0, run_after=timezone.now()
    )


def tasks_requeue_stale(*, now: datetime | None = None) -> int:
    """Put back in the queue database tasks left running longer than any task runs.

    A ``db_worker`` killed mid-task leaves its row RUNNING for ever; a task of
    a live worker is never this old (``TASKS_STALE_SECONDS``), so it is safe
    to run again. Tasks that must not run twice go through the outbox.
    """
    backend = settings.TASKS["default"]["BACKEND"]
    if backend != "django_tasks_db.DatabaseBackend":
        return 0
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TASKS_STALE_SECONDS)
    stale = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    return stale.update(status=TaskResultStatus.READY, started_at=None)
