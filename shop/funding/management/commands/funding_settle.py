"""Close campaigns past their deadline, follow failed charges, deliver releases.

Once (cron; the Procfile's ``clock`` runs it every ``CLOCK_FUNDING_SECONDS``),
or as a long-running process of its own with ``--every``. Idempotent, and
safe with several copies at once: a campaign is claimed by one conditional
UPDATE with a lease, each pledge by another, and every charge carries the pledge's idempotency key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shop.clock import once_or_every
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
        once_or_every(
            every=options["every"], runs=options["runs"], job=self._once, what="Funding settlement"
        )

    def _once(self) -> None:
        report = funding_settle()
        self.stdout.write(
            f"Campaigns settled: {len(report.campaigns)}; charged {report.charged}, "
            f"payment needed {report.recovering}, released unfunded {report.released_unfunded}, "
            f"dropped {report.dropped}, delivered {report.delivered}."
        )
