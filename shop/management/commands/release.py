"""The release step: ``migrate``, one node at a time.

Two nodes releasing at once used to run ``migrate`` side by side, and the
second failed on a duplicate key. On PostgreSQL this command holds a
session advisory lock for the whole run: the second waits, then finds
everything applied and does nothing. SQLite is one machine's file and
serialises writers itself, so there the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import connections
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand

# Any fixed 64-bit number, the same on every node: "échoppe" in ASCII-ish hex.
LOCK_ID = 0x0EC0_0FFE_2E1E_A5E0


@contextlib.contextmanager
def release_lock(alias: str = "default") -> Iterator[float]:
    """Hold the release lock; yields the seconds spent waiting for it."""
    connection = connections[alias]
    began = time.monotonic()
    if connection.vendor != "postgresql":
        yield 0.0
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
    try:
        yield time.monotonic() - began
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])


class Command(PeopleCommand):
    help = gettext_noop(
        "Apply migrations under a lock that every node shares (the Procfile's release step)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        with release_lock(alias) as waited:
            if waited > 1:
                self.stdout.write(
                    _("Waited %(seconds).1f s for another release.") % {"seconds": waited}
                )
            call_command(
                "migrate",
                database=alias,
                interactive=False,
                verbosity=options["verbosity"],
                stdout=self.stdout,
            )
        self.stdout.write(self.style.SUCCESS(_("Release done.")))
