"""The one clock of a deployment: outbox sweeps, stale tasks, webhooks, roll-ups, fan funding.

Run exactly one (the Procfile's ``clock:`` line, one systemd unit on one
node). Two would still be safe (a sweep hands each row out once, roll-ups are
exact), only wasteful.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from catalog.cli import PeopleCommand
from catalog.outbox.services import outbox_sweep, tasks_requeue_stale
from shop.clock import run_every

log = logging.getLogger(__name__)


class Command(PeopleCommand):
    help = gettext_noop(
        "Every CLOCK_SWEEP_SECONDS hand out durable work that is due (retries, rows of dead "
        "workers, work never enqueued), requeue database tasks of dead workers and send the "
        "webhook deliveries that are due (webhooks_send); every "
        "CLOCK_FUNDING_SECONDS settle fan-funded campaigns (funding_settle); every "
        "CLOCK_ROLLUP_SECONDS roll up the dashboard."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--runs", type=int, metavar="N", help=gettext_noop("Stop after N sweeps.")
        )
        parser.add_argument(
            "--no-rollup",
            action="store_true",
            help=gettext_noop("Sweep only (roll-ups run elsewhere)."),
        )
        parser.add_argument(
            "--no-funding",
            action="store_true",
            help=gettext_noop("No fan-funding settlement here."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runs = options["runs"]
        if runs is not None and runs <= 0:
            raise CommandError(_("--runs takes a number above 0."))
        # Each periodic command, how often, and when it last ran (never, at first).
        periodic = [
            (name, every, [float("-inf")])
            for name, every, skip in (
                ("webhooks_send", settings.CLOCK_SWEEP_SECONDS, False),
                ("funding_settle", settings.CLOCK_FUNDING_SECONDS, options["no_funding"]),
                ("dashboard_rollup", settings.CLOCK_ROLLUP_SECONDS, options["no_rollup"]),
            )
            if not skip
        ]

        def sweep(_run: int) -> None:
            began = time.monotonic()
            try:
                handed = outbox_sweep()
                requeued = tasks_requeue_stale()
                if handed or requeued:
                    log.info(
                        "Clock: %d outbox row(s) handed out, %d task(s) requeued", handed, requeued
                    )
            except Exception:
                log.exception("Outbox sweep failed; trying again next sweep")
            for name, every, last in periodic:
                if began - last[0] >= every:
                    last[0] = began
                    try:
                        call_command(name, stdout=self.stdout)
                    except Exception:
                        log.exception("%s failed; trying again in %s s", name, every)

        done = run_every(
            seconds=settings.CLOCK_SWEEP_SECONDS, runs=runs, job=sweep, what="The clock's sweep"
        )
        self.stdout.write(
            ngettext(
                "Clock stopped after %(count)d sweep.",
                "Clock stopped after %(count)d sweeps.",
                done,
            )
            % {"count": done}
        )
