"""From counted figures to what a page prints: cards, charts, tables, links."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import dateformat
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext

from catalog.l10n import format_number
from catalog.money import exponent, format_money
from shop.stats.charts import Point, bar_chart
from shop.stats.models import DailySource
from shop.stats.selectors import (
    GROUPINGS,
    RANGES,
    Dashboard,
    Figures,
    Period,
    change,
    series,
)


def money(amount: int | None, currency: str) -> str:
    return "—" if amount is None else format_money(amount, currency)


def count(value: int) -> str:
    return format_number(value)


def brief_money(amount: int, currency: str) -> str:
    """An axis label: "€30", "€1,200", "€25k" — no cents where the amount has none."""
    exp = exponent(currency)
    major = Decimal(amount).scaleb(-exp)
    thousands = major >= 10_000 and major % 1000 == 0
    text = format_money(int(major / 1000) * 10**exp if thousands else amount, currency)
    if exp and major == major.to_integral_value():
        text = text.replace("." + "0" * exp, "", 1)
    return re.sub(r"(\d[\d,]*)", r"\1k", text, count=1) if thousands else text


def brief_count(value: int) -> str:
    return f"{value // 1000}k" if value >= 10_000 and value % 1000 == 0 else f"{value:,}"


def percent(value: Decimal | None, places: int = 1) -> str:
    if value is None:
        return "—"
    return pgettext("percentage", "%(number)s %%") % {
        "number": format_number(value * 100, decimals=places)
    }


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    label: str
    value: str
    change: str  # "+12.5 %", "−3 pts", "new", "" when nothing to compare
    tone: str  # good, bad or flat, for the colour of the change
    note: str = ""


def _change_text(now: Any, before: Any, *, points: bool = False) -> tuple[str, int]:
    if before is None:
        return "", 0
    if points:
        if now is None or before is None:
            return "", 0
        delta = (now - before) * 100
        if abs(delta) < Decimal("0.05"):
            return "no change", 0
        return f"{'+' if delta > 0 else '−'}{abs(delta):.1f} pts", 1 if delta > 0 else -1
    if not before:
        return ("new", 1) if now else ("", 0)
    ratio = change(now, before)
    if ratio is None:
        return "", 0
    if abs(ratio) < Decimal("0.0005"):
        return "no change", 0
    return f"{'+' if ratio > 0 else '−'}{abs(ratio) * 100:.1f} %", 1 if ratio > 0 else -1


def _card(
    key: str,
    label: str,
    value: str,
    now: Any,
    before: Any,
    *,
    up_is_good: bool = True,
    points: bool = False,
    note: str = "",
) -> Card:
    text, direction = _change_text(now, before, points=points)
    tone = "flat" if direction == 0 else "good" if (direction > 0) == up_is_good else "bad"
    return Card(key, label, value, text, tone, note)


def fee_rule(currency: str) -> str:
    rate = Decimal(settings.PLATFORM_FEE_BASIS_POINTS) / 100
    shown = pgettext("percentage", "%(number)s %%") % {"number": format_number(rate.normalize())}
    rule = gettext("%(rate)s of each sale") % {"rate": shown}
    if settings.PLATFORM_FEE_FIXED:
        rule += f" + {format_money(settings.PLATFORM_FEE_FIXED, currency)}"
    return rule


def followers_card(count: int) -> Card:
    """Confirmed followers now (all time: a follow is not an event of the period)."""
    return Card(
        "followers",
        gettext("Followers"),
        f"{count:,}",
        "",
        "flat",
        gettext("Get an email on each new release; all time"),
    )


def cards(dashboard: Dashboard, currency: str, *, shop: bool = False) -> list[Card]:
    per_product = dashboard.scope.product_id is not None
    now = Figures.of(dashboard.current, per_product=per_product)
    before = (
        Figures.of(dashboard.previous, per_product=per_product)
        if dashboard.previous is not None
        else None
    )

    def prev(name: str) -> Any:
        return getattr(before, name) if before is not None else None

    given_back = now.refunded - dashboard.current["refund_debit"] - dashboard.current["refund_vat"]
    if shop:
        fee_note = gettext(
            "%(rule)s, less %(given)s given back with refunds. Stripe's processing fees are "
            "charged to the platform's Stripe account and are not known here: see Stripe's "
            "balance report."
        ) % {"rule": fee_rule(currency), "given": money(given_back, currency)}
    else:
        fee_note = gettext(
            "%(rule)s, less %(given)s given back with refunds. Card processing is paid out of "
            "it: nothing more is taken from you."
        ) % {"rule": fee_rule(currency).capitalize(), "given": money(given_back, currency)}
    refunds_note = ngettext("%(count)s refund", "%(count)s refunds", now.refunds) % {
        "count": count(now.refunds)
    }
    if now.disputes:
        refunds_note += ngettext(
            "; %(count)s disputed sale, %(amount)s taken back",
            "; %(count)s disputed sales, %(amount)s taken back",
            now.disputes,
        ) % {"count": count(now.disputes), "amount": money(now.dispute_debit, currency)}
    price_note = gettext("Per sale that cost something.")
    if now.pwyw_units:
        price_note = ngettext(
            "Pay what you want: %(count)s sale at %(average)s on average, %(above)s above the "
            "minimum",
            "Pay what you want: %(count)s sales at %(average)s on average, %(above)s above the "
            "minimum",
            now.pwyw_units,
        ) % {
            "count": count(now.pwyw_units),
            "average": money(now.pwyw_average, currency),
            "above": money(now.pwyw_above, currency),
        }
        if now.pwyw_above_ratio is not None:
            price_note += f" (+{percent(now.pwyw_above_ratio)})"
        price_note += "."
    return [
        _card(
            "gross",
            gettext("Gross sales"),
            money(now.gross, currency),
            now.gross,
            prev("gross"),
            note=gettext("What buyers paid, discounts taken off."),
        ),
        *(
            [
                _card(
                    "vat",
                    gettext("VAT"),
                    money(now.vat, currency),
                    now.vat,
                    prev("vat"),
                    note=gettext(
                        "In the gross sales, owed to tax offices (net of refunds): "
                        "%(net)s excluding VAT."
                    )
                    % {"net": money(now.net_sales, currency)},
                )
            ]
            if now.vat or dashboard.current["vat"]
            else []
        ),
        _card(
            "net",
            gettext("Sellers' net earnings") if shop else gettext("Net earnings"),
            money(now.net, currency),
            now.net,
            prev("net"),
            note=(
                gettext(
                    "Gross sales less VAT, refunds, platform fees and disputes: what sellers earn."
                )
                if shop
                else gettext("Gross sales less VAT, refunds, fees and disputes: what you earn.")
            ),
        ),
        _card(
            "fees",
            gettext("Platform fees") if shop else gettext("Platform and payment fees"),
            money(now.fees, currency),
            now.fees,
            prev("fees"),
            up_is_good=shop,
            note=fee_note,
        ),
        _card(
            "refunds",
            gettext("Refunds"),
            money(now.refunded, currency),
            now.refunded,
            prev("refunded"),
            up_is_good=False,
            note=refunds_note,
        ),
        _card(
            "orders",
            gettext("Orders"),
            count(now.orders),
            now.orders,
            prev("orders"),
            note=gettext(
                "Orders with something that cost something; free claims are counted apart."
            ),
        ),
        _card(
            "units",
            gettext("Units sold"),
            count(now.paid_units),
            now.paid_units,
            prev("paid_units"),
            note=gettext("Items that cost something; free ones are counted apart."),
        ),
        _card(
            "free",
            gettext("Free downloads"),
            count(now.free_units),
            now.free_units,
            prev("free_units"),
            note=gettext("Free products and zero prices claimed: not revenue, not sales."),
        ),
        _card(
            "downloads",
            gettext("Downloads"),
            count(now.downloads),
            now.downloads,
            prev("downloads"),
            note=gettext("Counted once per buyer, file and 30 minutes."),
        ),
        _card("views", gettext("Product page views"), count(now.views), now.views, prev("views")),
        _card(
            "conversion",
            gettext("Conversion"),
            percent(now.conversion, 2),
            now.conversion,
            prev("conversion"),
            points=True,
            note=gettext("Sales per product page view.")
            if per_product
            else gettext("Orders per product page view."),
        ),
        _card(
            "average",
            gettext("Average price paid"),
            money(now.average_price, currency),
            now.average_price,
            prev("average_price"),
            note=price_note,
        ),
    ]


# --- Charts ----------------------------------------------------------------------


def _labels(day: date, by: str, first: bool) -> tuple[str, str]:
    """Axis and table labels, with the month and day names of the active language."""
    if by == "month":
        short = dateformat.format(day, "M Y" if first or day.month == 1 else "M")
        return short, dateformat.format(day, "F Y")
    if by == "week":
        return dateformat.format(day, "j M"), gettext("Week of %(day)s") % {
            "day": dateformat.format(day, "j F Y")
        }
    return dateformat.format(day, "j M"), dateformat.format(day, "l j F Y")


def charts(dashboard: Dashboard, currency: str) -> list[dict[str, Any]]:
    by = dashboard.period.by
    per_product = dashboard.scope.product_id is not None
    buckets = series(dashboard)
    rows: list[tuple[str, Figures]] = []
    revenue, units = [], []
    for index, (start, counts) in enumerate(buckets):
        short, long = _labels(start, by, index == 0)
        figures = Figures.of(counts, per_product=per_product)
        revenue.append(Point(short, long, counts["gross"]))
        units.append(Point(short, long, counts["paid_units"]))
        rows.append((long, figures))
    every = GROUPINGS[by].lower()
    return [
        {
            "id": "revenue-chart",
            "title": gettext("Revenue by %(every)s") % {"every": every},
            "svg": bar_chart(
                chart_id="revenue-chart",
                title=gettext("Gross sales by %(every)s, %(period)s")
                % {"every": every, "period": dashboard.period.label.lower()},
                points=revenue,
                fmt=lambda value: format_money(value, currency),
                tick_fmt=lambda value: brief_money(value, currency),
            ),
            "columns": [gettext("Gross sales"), gettext("Net earnings"), gettext("Orders")],
            "rows": [
                {
                    "label": label,
                    "cells": [money(f.gross, currency), money(f.net, currency), count(f.orders)],
                }
                for label, f in rows
            ],
        },
        {
            "id": "units-chart",
            "title": gettext("Units sold by %(every)s") % {"every": every},
            "svg": bar_chart(
                chart_id="units-chart",
                title=gettext("Units sold by %(every)s, %(period)s")
                % {"every": every, "period": dashboard.period.label.lower()},
                points=units,
                fmt=count,
                tick_fmt=brief_count,
            ),
            "columns": [gettext("Units"), gettext("Downloads"), gettext("Page views")],
            "rows": [
                {
                    "label": label,
                    "cells": [count(f.paid_units), count(f.downloads), count(f.views)],
                }
                for label, f in rows
            ],
        },
    ]


# --- Tables ------------------------------------------------------------------------


def product_table(
    dashboard: Dashboard, names: Mapping[int, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """A row per product: every product in ``names`` (zeros included), busiest first."""
    totals: dict[int, Counter[str]] = {pk: Counter() for pk in names}
    for (_, product), counts in dashboard.products.items():
        if product in totals:
            totals[product].update(counts)
    rows = []
    for pk, counts in totals.items():
        figures = Figures.of(counts, per_product=True)
        rows.append(
            {
                "pk": pk,
                **names[pk],
                "figures": figures,
                "conversion_text": percent(figures.conversion, 2),
            }
        )
    rows.sort(key=lambda r: (-r["figures"].gross, -r["figures"].paid_units, -r["figures"].views))
    return rows


def seller_table(dashboard: Dashboard, names: Mapping[int, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"pk": pk, "name": names.get(pk, f"Seller {pk}"), "figures": Figures.of(counts)}
        for pk, counts in dashboard.sellers.items()
    ]
    rows.sort(key=lambda r: (-r["figures"].gross, -r["figures"].orders, r["name"]))
    return rows


SOURCE_TITLES = {
    DailySource.Kind.REFERRER: (gettext_lazy("Referring sites"), gettext_lazy("Direct or unknown")),
    DailySource.Kind.SOURCE: ("utm_source", gettext_lazy("(none)")),
    DailySource.Kind.CAMPAIGN: ("utm_campaign", gettext_lazy("(none)")),
    DailySource.Kind.COUNTRY: (gettext_lazy("Buyer countries"), gettext_lazy("Unknown")),
}


def source_groups(dashboard: Dashboard, *, limit: int | None = 15) -> list[dict[str, Any]]:
    per_product = dashboard.scope.product_id is not None
    groups = []
    for kind, (title, blank) in SOURCE_TITLES.items():
        rows: list[dict[str, Any]] = []
        for (row_kind, value), counts in dashboard.sources.items():
            if row_kind != kind or not any(counts.values()):
                continue
            purchases = counts["units"] if per_product else counts["orders"]
            conversion = Decimal(purchases) / Decimal(counts["views"]) if counts["views"] else None
            rows.append(
                {
                    "value": value,
                    "label": value or blank,
                    "views": counts["views"],
                    "orders": counts["orders"],
                    "units": counts["units"],
                    "gross": counts["gross"],
                    "conversion": conversion,
                    "conversion_text": percent(conversion),
                }
            )
        rows.sort(key=lambda r: (-r["orders"], -r["views"], r["label"]))
        shown = rows if limit is None else rows[:limit]
        groups.append(
            {
                "kind": kind,
                "title": title,
                "rows": shown,
                "more": len(rows) - len(shown),
                "views": kind != DailySource.Kind.COUNTRY,
            }
        )
    return groups


# --- The period picker ---------------------------------------------------------------


def period_links(period: Period) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": label,
            "query": "?" + urlencode({"range": key}),
            "current": key == period.key,
        }
        for key, label in RANGES.items()
        if key != "custom"
    ]


def period_query(period: Period, **extra: str) -> str:
    params: dict[str, str] = {"range": period.key, "by": period.by}
    if period.key == "custom" and period.first is not None:
        params.update({"from": period.first.isoformat(), "to": period.last.isoformat()})
    params.update(extra)
    return urlencode(params)


def grouping_links(period: Period) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": label,
            "query": "?" + period_query(period, by=key),
            "current": key == period.by,
        }
        for key, label in GROUPINGS.items()
    ]
