"""Close campaigns past their deadline, follow failed charges, deliver releases.

Once (cron; the Procfile's ``clock`` runs it every ``CLOCK_FUNDING_SECONDS``),
or as a long-running process of its own with ``--every``. Idempotent, and
safe with several copies at once: a campaign is claimed by one conditional
UPDATE with a lease, each pledge by another, and every charge carries the pledge's idempotency key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand
from shop.clock import once_or_every
from shop.funding.settlement import funding_settle


class Command(PeopleCommand):
    help = gettext_noop(
        "Settle fan-funded campaigns past their deadline (charge every pledge when the goal "
        "is met, release them otherwise), drop pledges past their grace period, and give "
        "charged backers their record once it is published."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help=gettext_noop("Keep running: settle every SECONDS."),
        )
        parser.add_argument(
            "--runs", type=int, metavar="N", help=gettext_noop("With --every: stop after N runs.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        once_or_every(
            every=options["every"], runs=options["runs"], job=self._once, what="Funding settlement"
        )

    def _once(self) -> None:
        report = funding_settle()
        self.stdout.write(
            _(
                "Campaigns settled: %(campaigns)d; charged %(charged)d, payment needed "
                "%(recovering)d, released unfunded %(released)d, dropped %(dropped)d, "
                "delivered %(delivered)d."
            )
            % {
                "campaigns": len(report.campaigns),
                "charged": report.charged,
                "recovering": report.recovering,
                "released": report.released_unfunded,
                "dropped": report.dropped,
                "delivered": report.delivered,
            }
        )
