"""The ISO 4217 currencies a seller may price in.

A deliberate subset: the currencies card processors settle in for small
sellers, not the whole standard (no precious metals, funds or test codes).
"""

from __future__ import annotations

from django.conf import settings

CURRENCIES: tuple[tuple[str, str], ...] = (
    ("AUD", "Australian dollar"),
    ("BRL", "Brazilian real"),
    ("CAD", "Canadian dollar"),
    ("CHF", "Swiss franc"),
    ("CLP", "Chilean peso"),
    ("CNY", "Chinese yuan"),
    ("CZK", "Czech koruna"),
    ("DKK", "Danish krone"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("HKD", "Hong Kong dollar"),
    ("HUF", "Hungarian forint"),
    ("IDR", "Indonesian rupiah"),
    ("ILS", "Israeli new shekel"),
    ("INR", "Indian rupee"),
    ("ISK", "Icelandic króna"),
    ("JPY", "Japanese yen"),
    ("KRW", "South Korean won"),
    ("MXN", "Mexican peso"),
    ("MYR", "Malaysian ringgit"),
    ("NOK", "Norwegian krone"),
    ("NZD", "New Zealand dollar"),
    ("PHP", "Philippine peso"),
    ("PLN", "Polish złoty"),
    ("RON", "Romanian leu"),
    ("SEK", "Swedish krona"),
    ("SGD", "Singapore dollar"),
    ("THB", "Thai baht"),
    ("TRY", "Turkish lira"),
    ("TWD", "New Taiwan dollar"),
    ("USD", "US dollar"),
    ("ZAR", "South African rand"),
)
CURRENCY_CODES = frozenset(code for code, _ in CURRENCIES)


def chargeable_currencies() -> tuple[str, ...]:
    """The currencies checkout can charge: ``STORE_CURRENCY`` alone today.

    Orders, the ledger, payouts and the dashboard all hold one currency, so a
    product priced in any other could be listed but never bought. Forms offer
    these only; a product priced earlier in another currency cannot be
    published or bought until its seller reprices it (decision in docs).
    """
    return (str(settings.STORE_CURRENCY).upper(),)


def currency_choices(*, keep: str = "") -> list[tuple[str, str]]:
    """Choices for a currency field: the chargeable ones, plus ``keep`` (a product's
    own currency) so that saving an older product never reprices it silently."""
    names = dict(CURRENCIES)
    codes = list(chargeable_currencies())
    if keep and keep not in codes:
        codes.append(keep)
    return [(code, f"{code} · {names.get(code, code)}") for code in codes]
