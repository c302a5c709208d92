"""``manage.py vat_report --quarter 2027Q1``: the quarter's OSS VAT table as CSV on stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand
from shop.oss import Quarter, QuarterError, quarter_report, report_csv


class Command(PeopleCommand):
    help = gettext_noop(
        "The VAT of a quarter per EU country and rate (net, VAT, sales, refunds) as CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quarter", required=True, help=gettext_noop("Like 2027Q1."))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            quarter = Quarter.parse(options["quarter"])
        except QuarterError:
            raise CommandError(
                _("“%(text)s” is not a quarter: write it like 2027Q1.")
                % {"text": options["quarter"]}
            ) from None
        self.stdout.write(report_csv(quarter, quarter_report(quarter)), ending="")
