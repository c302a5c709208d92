"""Send the webhook deliveries that are due: retries, and those of a sender that died.

Once (cron; the Procfile's ``clock`` runs it on every sweep), or as a process
of its own with ``--every``. Safe with several copies at once: each attempt
is claimed by one conditional UPDATE before it is sent.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand
from shop.clock import once_or_every
from shop.webhooks_out.services import deliveries_sweep


class Command(PeopleCommand):
    help = gettext_noop("Send the outgoing webhook deliveries that are due (retries with backoff).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help=gettext_noop("Keep running.")
        )
        parser.add_argument(
            "--runs", type=int, metavar="N", help=gettext_noop("With --every: stop after N.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        once_or_every(
            every=options["every"], runs=options["runs"], job=self._once, what="Webhook sweep"
        )

    def _once(self) -> None:
        handed = deliveries_sweep()
        if handed:
            self.stdout.write(_("Webhook deliveries handed out: %(count)d.") % {"count": handed})
