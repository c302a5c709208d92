"""The clock's loop: run a job now, then every N seconds, until SIGTERM or SIGINT.

The Procfile's clock lines (dashboard roll-ups, fan-funding settlement) are
management commands that call this; a failed run is logged and the next one
picks up where it stopped, so the process stays up.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from django.core.management.base import CommandError
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


def run_every(*, seconds: float, runs: int | None, job: Callable[[int], None], what: str) -> int:
    """Call ``job(run_number)`` now and every ``seconds``; returns how many runs were made."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
    done = 0
    while not stop.is_set():
        began = time.monotonic()
        if not connection.in_atomic_block:
            close_old_connections()  # a database restarted since the last run is no matter
        try:
            job(done)
        except Exception:
            log.exception("%s failed; trying again in %s s", what, seconds)
        done += 1
        if runs is not None and done >= runs:
            break
        stop.wait(max(seconds - (time.monotonic() - began), 0))
    return done


def once_or_every(
    *, every: float | None, runs: int | None, job: Callable[[], None], what: str
) -> None:
    """A command's ``--every SECONDS`` and ``--runs N``: ``job`` once, or on the loop."""
    if every is None:
        if runs is not None:
            raise CommandError("--runs goes with --every.")
        job()
        return
    if every <= 0:
        raise CommandError("--every takes a number of seconds above 0.")
    run_every(seconds=every, runs=runs, job=lambda _: job(), what=what)
