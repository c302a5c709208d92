"""``manage.py vat_report --quarter 2027Q1``: the quarter's OSS VAT table as CSV on stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop.oss import Quarter, QuarterError, quarter_report, report_csv


class Command(BaseCommand):
    help = "The VAT of a quarter per EU country and rate (net, VAT, sales, refunds) as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quarter", required=True, help="Like 2027Q1.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            quarter = Quarter.parse(options["quarter"])
        except QuarterError:
            raise CommandError(
                f"{options['quarter']!r} is not a quarter: write it like 2027Q1."
            ) from None
        self.stdout.write(report_csv(quarter, quarter_report(quarter)), ending="")
