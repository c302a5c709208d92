"""Close campaigns past their deadline, follow failed charges, deliver releases.

Once (cron; the Procfile's ``clock`` runs it every ``CLOCK_FUNDING_SECONDS``),
or as a long-running process of its own with ``--every``. Idempotent, and
safe with several copies at once: a campaign is claimed by one conditional
UPDATE with a lease, each pledge by another, and every charge carries the pledge's idempotency key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop.clock import run_every
from shop.funding.settlement import funding_settle


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
        run_every(seconds=every, runs=runs, job=lambda _: self._once(), what="Funding settlement")

    def _once(self) -> None:
        report = funding_settle()
        self.stdout.write(
            f"Campaigns settled: {len(report.campaigns)}; charged {report.charged}, "
            f"payment needed {report.recovering}, released unfunded {report.released_unfunded}, "
            f"dropped {report.dropped}, delivered {report.delivered}."
        )
