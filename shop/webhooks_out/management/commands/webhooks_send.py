"""Send the webhook deliveries that are due: retries, and those of a sender that died.

Once (cron; the Procfile's ``clock`` runs it on every sweep), or as a process
of its own with ``--every``. Safe with several copies at once: each attempt
is claimed by one conditional UPDATE before it is sent.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop.clock import run_every
from shop.webhooks_out.services import deliveries_sweep


class Command(BaseCommand):
    help = "Send the outgoing webhook deliveries that are due (retries with backoff)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, metavar="SECONDS", help="Keep running.")
        parser.add_argument("--runs", type=int, metavar="N", help="With --every: stop after N.")

    def handle(self, *args: Any, **options: Any) -> None:
        every, runs = options["every"], options["runs"]
        if every is None:
            if runs is not None:
                raise CommandError("--runs goes with --every.")
            self._once()
            return
        if every <= 0:
            raise CommandError("--every takes a number of seconds above 0.")
        run_every(seconds=every, runs=runs, job=lambda _: self._once(), what="Webhook sweep")

    def _once(self) -> None:
        handed = deliveries_sweep()
        if handed:
            self.stdout.write(f"Webhook deliveries handed out: {handed}.")
