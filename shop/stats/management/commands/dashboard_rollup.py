"""Roll the sales dashboard's daily figures forward.

Once (from cron or a timer), or as a long-running process with ``--every``
(the ``Procfile``'s ``clock`` line). Several copies at once are safe: each
chunk of days is rolled under a row lock on its book, and a run that finds
the days already rolled by another stops.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from catalog.cli import PeopleCommand
from catalog.models import Seller
from shop.clock import run_every
from shop.stats.rollups import stats_book_roll, stats_books_roll


class Command(PeopleCommand):
    help = gettext_noop(
        "Roll up the dashboard's closed days for the shop and every seller. Pages stay exact "
        "without it (they count what is not rolled up live), only slower."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seller", help=gettext_noop("Only this seller (slug); the shop's book is skipped.")
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help=gettext_noop(
                "Recount every day from the source tables (after data was changed by hand)."
            ),
        )
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help=gettext_noop(
                "Keep running: roll up again every SECONDS (3600 in the Procfile's clock line)."
            ),
        )
        parser.add_argument(
            "--runs", type=int, metavar="N", help=gettext_noop("With --every: stop after N runs.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seller = None
        if options["seller"]:
            seller = Seller.objects.filter(slug=options["seller"]).first()
            if seller is None:
                raise CommandError(
                    _("No seller has the slug “%(slug)s”.") % {"slug": options["seller"]}
                )
        every, runs = options["every"], options["runs"]
        if every is None:
            if runs is not None:
                raise CommandError(_("--runs goes with --every."))
            self._roll(seller, rebuild=options["rebuild"])
            return
        if every <= 0:
            raise CommandError(_("--every takes a number of seconds above 0."))
        self._loop(seller, every=every, runs=runs, rebuild=options["rebuild"])

    def _roll(self, seller: Seller | None, *, rebuild: bool) -> None:
        if seller is not None:
            book = stats_book_roll(seller=seller, rebuild=rebuild)
            self.stdout.write(
                _("Rolled up %(seller)s until %(day)s (%(zone)s).")
                % {"seller": seller.slug, "day": book.rolled_until, "zone": book.timezone}
            )
            return
        count = stats_books_roll(rebuild=rebuild)
        self.stdout.write(
            ngettext("Rolled up %(count)d book.", "Rolled up %(count)d books.", count)
            % {"count": count}
        )

    def _loop(
        self, seller: Seller | None, *, every: float, runs: int | None, rebuild: bool
    ) -> None:
        """Roll up now, then every ``every`` seconds, until stopped (SIGTERM or SIGINT)."""

        def job(done: int) -> None:
            if seller is not None:
                seller.refresh_from_db()  # a new timezone takes effect on the next run
            # Only the first run rebuilds: later ones roll forward.
            self._roll(seller, rebuild=rebuild and done == 0)

        done = run_every(seconds=every, runs=runs, job=job, what="Dashboard roll-up")
        self.stdout.write(
            ngettext("Stopped after %(count)d run.", "Stopped after %(count)d runs.", done)
            % {"count": done}
        )
