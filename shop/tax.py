"""VAT: what Stripe Tax is told about each line, and what the shop keeps of its answer.

Stripe Tax decides the rate from the buyer's location and the line's product
tax code; the shop only says what each product is (``TAX_CODES``) and whether
its price already holds the VAT (``inclusive``, the seller's choice) or the
VAT comes on top (``exclusive``). Amounts are integer minor units of the
order's currency; a rate is kept in hundredths of a percent (5.5 % is 550).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from catalog.models import Product

INCLUSIVE = "inclusive"
EXCLUSIVE = "exclusive"
BEHAVIORS = (INCLUSIVE, EXCLUSIVE)

# Stripe's product tax codes for goods downloaded to keep (stripe.com/docs/tax/tax-codes).
TAX_CODES: dict[str, str] = {
    Product.Kind.EBOOK: "txcd_10302000",  # Digital Books - downloaded - with permanent rights
    Product.Kind.MUSIC: "txcd_10401100",  # Digital Audio Works - downloaded - permanent rights
    Product.Kind.VIDEO: "txcd_10402100",  # Digital Audio Visual Works - downloaded - permanent
    Product.Kind.BUNDLE: "txcd_10000000",  # General - Electronically Supplied Services
}
GENERIC_TAX_CODE = "txcd_10000000"

# The EU's 27 (OSS reports VAT by member state; Stripe names Greece "GR").
EU_COUNTRIES = frozenset(
    (
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    )
)


def tax_code_for(kind: str) -> str:
    return TAX_CODES.get(kind, GENERIC_TAX_CODE)


def rate_basis_points(percentage: Any) -> int | None:
    """Stripe's ``percentage`` (19, 5.5) in hundredths of a percent, or None if not a rate."""
    if isinstance(percentage, bool) or not isinstance(percentage, int | float | str):
        return None
    try:
        value = Decimal(str(percentage)) * 100
    except InvalidOperation:
        return None
    if value < 0 or value > 10_000 or value != value.to_integral_value():
        return None
    return int(value)


def rate_text(basis_points: int | None) -> str:
    """550 as "5.5 %", 2000 as "20 %" (figures for a person, not for arithmetic)."""
    if basis_points is None:
        return ""
    whole, part = divmod(basis_points, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "\u202f%"


class TaxMismatch(Exception):
    """Stripe's taxed lines do not add up to the order; the message is for the admin."""


@dataclass(frozen=True, slots=True)
class ItemFacts:
    pk: int
    product_id: int
    unit_price: int
    behavior: str  # inclusive or exclusive


@dataclass(frozen=True, slots=True)
class ItemTax:
    amount: int
    rate: int | None  # hundredths of a percent


@dataclass(frozen=True, slots=True)
class TaxFigures:
    """What a paid session's VAT comes to, checked against the order line by line."""

    items: dict[int, ItemTax]
    amount: int  # all VAT
    added: int  # VAT charged on top of exclusive prices
    country: str
    reverse_charge: bool
    breakdown: list[dict[str, Any]] = field(default_factory=list)


def settlement_figures(
    *,
    items: Sequence[ItemFacts],
    lines: Sequence[TaxLineLike],
    amount_total: int | None,
    amount_tax: int | None,
    order_total: int,
) -> TaxFigures:
    """Match Stripe's taxed lines to the order's; raise :class:`TaxMismatch` unless every
    line and the session's totals are exactly what the order's prices and VAT make.

    Inclusive: the line's total is its price, the VAT inside it. Exclusive: the line's
    total is its price plus the VAT. The session's total is the order's plus the VAT
    added on top, and its ``amount_tax`` the sum of every line's VAT.
    """
    charged = [item for item in items if item.unit_price > 0]
    by_product = {line.product_id: line for line in lines}
    if len(lines) != len(charged) or set(by_product) != {i.product_id for i in charged}:
        raise TaxMismatch("Stripe's taxed lines are not the order's lines.")
    figures: dict[int, ItemTax] = {}
    groups: dict[tuple[str, int | None, str], list[int]] = {}
    countries: set[str] = set()
    reverse = False
    for item in charged:
        line = by_product[item.product_id]
        tax = line.amount_tax
        if tax is None or line.amount_subtotal != item.unit_price:
            raise TaxMismatch(f"Stripe's line for product {item.product_id} is not its price.")
        gross = item.unit_price + (tax if item.behavior == EXCLUSIVE else 0)
        if tax > gross or (line.amount_total is not None and line.amount_total != gross):
            raise TaxMismatch(
                f"Stripe's line for product {item.product_id} says {line.amount_total} "
                f"with {tax} VAT; its price is {item.unit_price} ({item.behavior})."
            )
        entries = [t for t in line.taxes if t[3] is not None]
        if sum(t[3] or 0 for t in entries) != tax:
            raise TaxMismatch(f"Stripe's taxes for product {item.product_id} do not add up.")
        rate = entries[0][1] if entries else None
        figures[item.pk] = ItemTax(amount=tax, rate=rate)
        for country, entry_rate, _taxable, entry_amount, reason in entries:
            if country:
                countries.add(country)
            reverse = reverse or reason == "reverse_charge"
            group = groups.setdefault((country, entry_rate, reason), [0, 0, 0])
            group[0] += gross - tax if len(entries) == 1 else (_taxable or 0)
            group[1] += entry_amount or 0
            group[2] += 1
    total_tax = sum(f.amount for f in figures.values())
    added = sum(figures[item.pk].amount for item in charged if item.behavior == EXCLUSIVE)
    if amount_tax is None or amount_tax != total_tax:
        raise TaxMismatch(f"Stripe's session says {amount_tax} VAT; its lines {total_tax}.")
    if amount_total is None or amount_total != order_total + added:
        raise TaxMismatch(
            f"Stripe's session says {amount_total}; the order is for {order_total} "
            f"plus {added} VAT added on top."
        )
    return TaxFigures(
        items=figures,
        amount=total_tax,
        added=added,
        country=countries.pop() if len(countries) == 1 else "",
        reverse_charge=reverse,
        breakdown=[
            {"country": c, "rate": r, "reason": why, "net": n, "amount": a, "lines": k}
            for (c, r, why), (n, a, k) in sorted(groups.items(), key=lambda g: str(g[0]))
        ],
    )


class TaxLineLike(Protocol):
    @property
    def product_id(self) -> int | None: ...
    @property
    def amount_subtotal(self) -> int | None: ...
    @property
    def amount_tax(self) -> int | None: ...
    @property
    def amount_total(self) -> int | None: ...
    @property
    def taxes(self) -> tuple[tuple[str, int | None, int | None, int | None, str], ...]: ...
