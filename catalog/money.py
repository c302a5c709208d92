"""Money as integer minor units with an ISO 4217 currency.

Amounts never pass through floats: a price is typed by a person as a decimal
string, parsed into minor units here, and formatted back here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Currencies whose minor unit is not the cent (ISO 4217 exponent).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$"}

MAX_AMOUNT = 10**9  # minor units; far above any digital good, far below overflow


class AmountError(ValueError):
    """A typed amount that is not a valid price."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: int, currency: str) -> str:
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    value = Decimal(abs(amount)).scaleb(-exp)
    text = f"{value:,.{exp}f}"
    symbol = _SYMBOLS.get(currency.upper())
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency.upper()}"


def to_decimal_string(amount: int, currency: str) -> str:
    """Minor units as the plain decimal a form field shows: 1250 EUR -> '12.50'."""
    exp = exponent(currency)
    return f"{Decimal(amount).scaleb(-exp):.{exp}f}"


def parse_amount(text: str, currency: str) -> int:
    """Parse a typed price ('12', '12.5', '12,50', '€12.50') into minor units."""
    cleaned = (text or "").strip()
    for symbol in (*_SYMBOLS.values(), currency.upper()):
        cleaned = cleaned.replace(symbol.strip(), "")
    cleaned = cleaned.replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not cleaned:
        raise AmountError("Enter an amount.")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(f"“{text}” is not an amount.") from None
    if not value.is_finite():
        raise AmountError(f"“{text}” is not an amount.")
    if value < 0:
        raise AmountError("The amount cannot be negative.")
    exp = exponent(currency)
    minor = value.scaleb(exp)
    if minor != minor.to_integral_value():
        raise AmountError(
            f"{currency.upper()} amounts have at most {exp} decimal place{'s' if exp != 1 else ''}."
        )
    result = int(minor)
    if result > MAX_AMOUNT:
        raise AmountError("That amount is too large.")
    return result
