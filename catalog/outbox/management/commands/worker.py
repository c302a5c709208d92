"""``manage.py worker``: django-tasks-db's ``db_worker`` that outlives a cut database.

Upstream's worker exits on any database error other than SQLite's "locked":
a PostgreSQL restart, a failover or a proxy dropping idle connections stops
background work until something restarts the process. This one closes the
broken connections, waits (doubling up to ``--reconnect-max`` seconds) and
goes on. A task that was running when the connection went stays RUNNING;
the outbox's lease hands durable work to the next sweep (catalog/outbox).
Every option of ``db_worker`` is accepted as is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django.db.utils import InterfaceError, OperationalError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("catalog.outbox")

# A worker that ran this long since its last reconnection starts its backoff afresh.
_HEALTHY_SECONDS = 60.0


class ReconnectingWorker(db_worker.Worker):
    def __init__(self, *, reconnect_max: float, **options: Any) -> None:
        super().__init__(**options)
        self.reconnect_max = reconnect_max
        self.reconnections = 0

    def run(self) -> None:
        delay = min(0.5, self.reconnect_max)
        while True:
            started = time.monotonic()
            try:
                super().run()
                return
            except (OperationalError, InterfaceError) as exc:
                if not self.running:
                    raise
                if time.monotonic() - started > _HEALTHY_SECONDS:
                    delay = min(0.5, self.reconnect_max)
                self.reconnections += 1
                logger.warning(
                    "Worker %s lost the database (%s); trying again in %.1f s",
                    self.worker_id,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    delay,
                )
                for connection in connections.all(initialized_only=True):
                    # Already gone: the next query opens a new one.
                    with contextlib.suppress(DatabaseError):
                        connection.close()
                time.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
                # Upstream's random start-up delay is for a fleet starting together.
                self.startup_delay = False


class Command(db_worker.Command):
    help = "Run the background worker (django-tasks-db), reconnecting when the database goes away"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--reconnect-max",
            type=db_worker.valid_interval,
            default=30.0,
            help="longest wait, in seconds, between two tries to reach a lost database "
            "(default: %(default)r)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        batch, reload = options["batch"], options["reload"]
        if reload and batch:
            logger.warning("--reload and --batch cannot be used together: not reloading.")
            reload = False
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ReconnectingWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=batch,
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
            reconnect_max=options["reconnect_max"],
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
