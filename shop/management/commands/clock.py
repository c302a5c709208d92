"""The one clock of a deployment: outbox sweeps, stale tasks, dashboard roll-ups.

Run exactly one (the Procfile's ``clock:`` line, one systemd unit on one
node). Two would still be safe (a sweep hands each row out once, roll-ups are
exact), only wasteful.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from catalog.outbox.services import outbox_sweep, tasks_requeue_stale

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Every CLOCK_SWEEP_SECONDS hand out durable work that is due (retries, rows of dead "
        "workers, work never enqueued) and requeue database tasks of dead workers; every "
        "CLOCK_ROLLUP_SECONDS roll up the dashboard."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, metavar="N", help="Stop after N sweeps.")
        parser.add_argument(
            "--no-rollup", action="store_true", help="Sweep only (roll-ups run elsewhere)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runs = options["runs"]
        if runs is not None and runs <= 0:
            raise CommandError("--runs takes a number above 0.")
        every = settings.CLOCK_SWEEP_SECONDS
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, lambda *_: stop.set())
        done, last_rollup = 0, float("-inf")
        while not stop.is_set():
            began = time.monotonic()
            if not connection.in_atomic_block:
                close_old_connections()  # a database restarted since the last sweep is no matter
            try:
                handed = outbox_sweep()
                requeued = tasks_requeue_stale()
                if handed or requeued:
                    log.info(
                        "Clock: %d outbox row(s) handed out, %d task(s) requeued", handed, requeued
                    )
            except Exception:
                log.exception("Outbox sweep failed; trying again in %s s", every)
            if not options["no_rollup"] and began - last_rollup >= settings.CLOCK_ROLLUP_SECONDS:
                last_rollup = began
                try:
                    call_command("dashboard_rollup", stdout=self.stdout)
                except Exception:
                    log.exception("Dashboard roll-up failed")
            done += 1
            if runs is not None and done >= runs:
                break
            stop.wait(max(every - (time.monotonic() - began), 0))
        self.stdout.write(f"Clock stopped after {done} sweep{'s' if done != 1 else ''}.")
