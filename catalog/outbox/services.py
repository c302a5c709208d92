"""Durable background work: an outbox row written with the change, a task that finishes it.

A change that promises work (an order paid promises its receipt) calls
``outbox_add`` inside its own transaction: the row commits with the change
or not at all. On commit the task is enqueued at once; if that never happens
(the process died right after the commit, the queue was unreachable) or the
task dies with its worker, ``outbox_sweep`` (run by ``manage.py clock``)
hands the row out again once its ``run_after`` has passed. A change made
once, under a lock it holds, writes all its promises in one INSERT with
``outbox_add_new`` (their keys cannot exist yet).

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

A mail sent by durable work carries a Message-ID made from its row's key
(``outbox_message_id``), the same on every run of it: if a crash between the
send and the done marker sends it again, the copy has the first one's
Message-ID, which mail services (Gmail among them) and many readers collapse
into one message.

Every backend works, the immediate one included: there a failure is
recorded and the sweeper runs the retry in the clock's process. The
immediate backend runs the task inside the on-commit enqueue, and the run is
handed the row that was just written instead of reading it back.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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
        transaction.on_commit(lambda: _enqueue(durable, row.pk, written=row))
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


@dataclass(frozen=True, slots=True)
class Promise:
    """One piece of durable work for ``outbox_add_new``: ``durable(**kwargs)``, once per key."""

    durable: Task[..., None]
    key: str
    kwargs: dict[str, Any]


def outbox_add_new(promises: Sequence[Promise]) -> list[OutboxTask]:
    """Promise several tasks in one INSERT, in the caller's transaction.

    For keys that cannot exist yet: named after a change that happens once,
    under a lock the caller holds (an order marked paid under its row lock).
    Unlike ``outbox_add`` it does not look for the key first, so no savepoint
    and no SELECT per task; a key that exists after all is an IntegrityError
    that undoes the caller's change instead of hiding a second copy of it.
    """
    if not promises:
        return []
    now = timezone.now()
    request_id = current_request_id.get()
    # The sweeper leaves them to the enqueue below for a lease's time.
    lease_end = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    rows = OutboxTask.objects.bulk_create(
        OutboxTask(
            key=p.key,
            task_path=p.durable.module_path,
            kwargs=p.kwargs,
            request_id=request_id,
            run_after=lease_end,
            created_at=now,
        )
        for p in promises
    )
    enqueued = [(p.durable, row) for p, row in zip(promises, rows, strict=True)]

    def enqueue_all() -> None:
        for durable, row in enqueued:
            _enqueue(durable, row.pk, written=row)

    transaction.on_commit(enqueue_all)
    return rows


# The row an enqueue on commit has just written, for a run inside that very call (the
# immediate backend): it is what the database holds, so the run need not read it again.
_written: ContextVar[OutboxTask | None] = ContextVar("outbox_written", default=None)


def _enqueue(
    durable: Task[..., None], outbox_id: int, *, written: OutboxTask | None = None
) -> None:
    handed = _written.set(written)
    try:
        durable.enqueue(outbox_id=outbox_id)
    except Exception:
        # The row is committed: the sweeper hands it out when its run_after passes.
        log.exception("Could not enqueue %s for outbox row %s", durable.name, outbox_id)
    finally:
        _written.reset(handed)


def _claimed_row(outbox_id: int, *, lock: bool) -> OutboxTask:
    """The row just claimed: the one this process wrote and enqueued on commit (what the
    claim changed applied to it), else read (a worker, the sweeper's hand-out)."""
    written = _written.get()
    if written is not None and written.pk == outbox_id:
        # Pending since its commit: nothing but this claim has touched it (the sweeper
        # leaves it alone for a lease). Arguments as the database gives them back.
        row = copy.copy(written)
        row.kwargs = json.loads(json.dumps(written.kwargs))
        row.status, row.attempts = Status.RUNNING, written.attempts + 1
        return row
    rows = OutboxTask.objects.select_for_update() if lock else OutboxTask.objects
    return rows.get(pk=outbox_id)


# The key of the outbox row whose work runs in this context, for outbox_message_id().
_running_key: ContextVar[str | None] = ContextVar("outbox_running_key", default=None)


def outbox_message_id() -> str | None:
    """A Message-ID for the mail the running outbox work sends (None outside it): the
    same on every run of the same row, so a mail sent twice is one message to the
    services and readers that collapse duplicates by their Message-ID. The key is
    hashed: it names orders and sellers."""
    key = _running_key.get()
    if key is None:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{digest}.outbox@{domain}>"


@contextmanager
def _running(row: OutboxTask) -> Iterator[None]:
    token = _running_key.set(row.key)
    try:
        with request_id_set(row.request_id):
            yield
    finally:
        _running_key.reset(token)


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
            row = _claimed_row(outbox_id, lock=True)
            try:
                with transaction.atomic(), _running(row):
                    work(**row.kwargs)
            except Exception as exc:
                _failed(row, exc)
                return True
            _done(row)
        return True
    if not _claim(outbox_id, now):
        return False
    row = _claimed_row(outbox_id, lock=False)
    try:
        with _running(row):
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
