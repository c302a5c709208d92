"""The ISO 4217 currencies a seller may price in.

A deliberate subset: the currencies card processors settle in for small
sellers, not the whole standard (no precious metals, funds or test codes).
"""

from __future__ import annotations

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
