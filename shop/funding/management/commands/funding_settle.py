"""Close campaigns past their deadline, follow failed charges, deliver releases.

Once (cron), or as a long-running process with ``--every`` (the Procfile's
``funding`` line). Idempotent, and safe with several copies at once: a
campaign is claimed by one conditional UPDATE with a lease, each pledge by
another, and every charge carries the pledge's idempotency key.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from shop.funding.settlement import funding_settle

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Settle fan-funded campaigns past their deadline (charge every pledge when the goal "
        "is met, release them otherwise), drop pledges past their grace period, and give "
        "charged backers their record once it is published."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="Keep running: settle every SECONDS."
        )
        parser.add_argument(
            "--runs", type=int, metavar="N", help="With --every: stop after N runs."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every, runs = options["every"], options["runs"]
        if every is None:
            if runs is not None:
                raise CommandError("--runs goes with --every.")
            self._once()
            return
        if every <= 0:
            raise CommandError("--every takes a number of seconds above 0.")
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, lambda *_: stop.set())
        done = 0
        while not stop.is_set():
            began = time.monotonic()
            if not connection.in_atomic_block:
                close_old_connections()
            try:
                self._once()
            except Exception:
                # Every step is resumable: the next run carries on where this one stopped.
                log.exception("Funding settlement failed; trying again in %s s", every)
            done += 1
            if runs is not None and done >= runs:
                break
            stop.wait(max(every - (time.monotonic() - began), 0))

    def _once(self) -> None:
        report = funding_settle()
        self.stdout.write(
            f"Campaigns settled: {len(report.campaigns)}; charged {report.charged}, "
            f"payment needed {report.recovering}, released unfunded {report.released_unfunded}, "
            f"dropped {report.dropped}, delivered {report.delivered}."
        )
