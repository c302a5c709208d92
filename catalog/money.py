"""Money as integer minor units with an ISO 4217 currency, and the one parser of
every number a person types into the shop.

Amounts never pass through floats: a price is typed by a person as a decimal
string, parsed into minor units here, and formatted back here.

What the parsers take (``parse_amount``, ``parse_percent``, ``parse_count``):

* ASCII digits ``0``-``9`` only: ``²``, Arabic-Indic or full-width digits are
  refused, although ``int()`` and ``Decimal()`` would read some of them;
* for amounts and percentages, one decimal separator, ``.`` or ``,`` (``12.50``
  and ``12,50`` are the same), with no more decimals than the currency has
  (EUR 2, JPY 0, KWD 3); for counts, none;
* no thousands separators, no sign, no exponent (``1e3``, ``10^30``), no
  ``NaN`` or ``Infinity``: each is refused with a message saying how to write it;
* at most ``TYPED_MAX_CHARS`` characters, checked before anything else, and a
  ceiling (``settings.AMOUNT_MAX_MINOR`` for amounts, the caller's for counts):
  the text is matched by a regular expression of bounded length and converted
  with ``int()`` on at most a few digits, never with ``Decimal``, so the work
  done for a hostile input is as small as for ``12.50``.

A refusal raises ``AmountError`` or ``CountError`` (both ``NumberError``, a
``ValueError``) whose message is meant for the person who typed it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy, ngettext

from catalog.l10n import format_amount

# Currencies whose minor unit is not the cent (ISO 4217 exponent).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$"}

# Stripe charges at most 99,999,999 minor units in most currencies; the setting
# AMOUNT_MAX_MINOR lowers (or, for a provider that allows it, raises) that.
DEFAULT_AMOUNT_MAX_MINOR = 99_999_999
# Longer than any amount or count a person means: refused before it is read.
TYPED_MAX_CHARS = 32
# Spaces, apostrophes and underscores people (and Python) put between thousands.
_GROUPING = " \u00a0\u202f\u2009'’_"
_DECIMAL = re.compile(r"([0-9]*)(?:[.,]([0-9]*))?")
_DIGITS = re.compile(r"[0-9]+")
_POWER = re.compile(r"[0-9.,]*[0-9][.,]?\s*(?:[eE]|\^|\*\*|×\s*10)\s*[-+]?[0-9]*")


class NumberError(ValueError):
    """A typed number the shop does not take; the message says how to write it."""


class AmountError(NumberError):
    """A typed amount that is not a valid price."""


class CountError(NumberError):
    """A typed count (uses, pages, bytes...) that is not a whole number in range."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def amount_max_minor() -> int:
    """The largest amount the payment provider can charge, in minor units."""
    return int(getattr(settings, "AMOUNT_MAX_MINOR", DEFAULT_AMOUNT_MAX_MINOR))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: int, currency: str) -> str:
    """Minor units as the reader's language writes them: 1250 EUR is ``€12.50`` in
    English and ``12,50 €`` in French, with the currency's own decimals (JPY none,
    KWD three)."""
    return format_amount(Decimal(amount).scaleb(-exponent(currency)), currency.upper(),
                         exponent(currency))  # fmt: skip


def to_decimal_string(amount: int, currency: str) -> str:
    """Minor units as the plain decimal a form field shows: 1250 EUR -> '12.50'."""
    exp = exponent(currency)
    return f"{Decimal(amount).scaleb(-exp):.{exp}f}"


def _typed(value: object, error: type[NumberError], example: str) -> str:
    """The typed text, stripped, once its length is known to be small."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise error(gettext("Write it with digits, like %(example)s.") % {"example": example})
    if isinstance(value, int):
        # A JSON number: bounded by its bit length before any conversion to text.
        if value.bit_length() > 96:
            raise error(
                gettext("That number is far too large; write it with digits, like %(example)s.")
                % {"example": example}
            )
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)  # 'inf', 'nan' and '1e+16' are then refused like typed ones
    if len(value) > TYPED_MAX_CHARS:
        raise error(
            gettext("That is too long for a number: write it with digits, like %(example)s.")
            % {"example": example}
        )
    return value.strip()


# What a message calls the number typed, one and several ("the amount", "amounts have").
_NOUNS = {
    "amount": (gettext_lazy("amount"), gettext_lazy("amounts")),
    "percentage": (gettext_lazy("percentage"), gettext_lazy("percentages")),
    "number": (gettext_lazy("number"), gettext_lazy("numbers")),
}


def _refuse_lookalikes(text: str, error: type[NumberError], example: str, noun: str) -> None:
    """The mistakes worth their own message, checked on at most TYPED_MAX_CHARS characters."""
    for char in text:
        if not char.isascii() and (char.isnumeric() or unicodedata.category(char) == "Nd"):
            raise error(
                gettext("Write the %(noun)s with the digits 0 to 9, like %(example)s.")
                % {"noun": _NOUNS[noun][0], "example": example}
            )
    if text[:1] in ("-", "−", "–"):
        raise error(gettext("The %(noun)s cannot be negative.") % {"noun": _NOUNS[noun][0]})
    if _POWER.fullmatch(text):
        raise error(
            gettext("Write the %(noun)s in full with digits, without an exponent: 1000, not 1e3.")
            % {"noun": _NOUNS[noun][0]}
        )


def _parse_decimal(
    text: str, places: int, error: type[NumberError], example: str, grouped: str, noun: str
) -> int:
    """``text`` (already stripped and short) as an integer count of 10**-places."""
    _refuse_lookalikes(text, error, example, noun)
    separators = sum(text.count(c) for c in ".,")
    if separators > 1 or any(c in _GROUPING for c in text):
        raise error(
            gettext(
                "“%(text)s” looks like it has a thousands separator: leave it out and use at "
                "most one . or , for decimals, like %(grouped)s."
            )
            % {"text": text, "grouped": grouped}
        )
    match = _DECIMAL.fullmatch(text)
    if match is None or not (match[1] or match[2]):
        raise error(
            gettext("Write the %(noun)s with digits, like %(example)s.")
            % {"noun": _NOUNS[noun][0], "example": example}
        )
    whole, fraction = match[1].lstrip("0"), match[2] or ""
    if len(fraction) == 3 and places != 3:
        digits = (whole + fraction).lstrip("0") or "0"
        rule = (
            ngettext(
                "at most %(places)s decimal, like %(example)s",
                "at most %(places)s decimals, like %(example)s",
                places,
            )
            if places
            else gettext("whole numbers, like %(example)s")
        ) % {"places": places, "example": example}
        raise error(
            gettext(
                "Write “%(text)s” without a thousands separator, as "
                "%(digits)s; %(nouns)s have %(rule)s."
            )
            % {"text": text, "digits": digits, "nouns": _NOUNS[noun][1], "rule": rule}
        )
    if len(fraction) == 3 and "," in text:
        # 1,000 in a currency of three decimals: one, or one thousand?
        raise error(
            gettext("“%(text)s” could mean two amounts: write %(dot)s or %(plain)s instead.")
            % {"text": text, "dot": text.replace(",", "."), "plain": text.replace(",", "")}
        )
    if len(fraction) > places and fraction[places:].strip("0"):
        raise error(
            (
                ngettext(
                    "Use at most %(places)s decimal, like %(example)s.",
                    "Use at most %(places)s decimals, like %(example)s.",
                    places,
                )
                if places
                else gettext("Write a whole number, like %(example)s.")
            )
            % {"places": places, "example": example}
        )
    if len(whole) > 18:
        return 10**30  # bigger than any ceiling; not converted digit by digit
    return int(whole or "0") * 10**places + int(fraction[:places].ljust(places, "0") or "0")


def _strip_currency(text: str, currency: str) -> str:
    for mark in (_SYMBOLS.get(currency, "").strip(), currency):
        if mark and text.startswith(mark):
            text = text[len(mark) :].strip()
        if mark and text.endswith(mark):
            text = text[: -len(mark)].strip()
    return text


def parse_amount(value: object, currency: str, *, maximum: int | None = None) -> int:
    """A typed price (``12``, ``12.5``, ``12,50``, ``€12.50``) in minor units, from 0 to
    ``maximum`` (by default the provider's ceiling, ``settings.AMOUNT_MAX_MINOR``)."""
    currency = currency.upper()
    places = exponent(currency)
    example = to_decimal_string(1250 * 10 ** max(places - 2, 0), currency)
    grouped = to_decimal_string(
        1000 * 10**places + (50 * 10 ** (places - 2) if places else 0), currency
    )
    text = _strip_currency(_typed(value, AmountError, example), currency)
    if not text:
        raise AmountError(gettext("Enter an amount."))
    minor = _parse_decimal(text, places, AmountError, example, grouped, "amount")
    ceiling = amount_max_minor() if maximum is None else maximum
    if minor > ceiling:
        raise AmountError(
            gettext("At most %(format_money)s.") % {"format_money": format_money(ceiling, currency)}
        )
    return minor


def parse_percent(value: object) -> int:
    """A typed percentage (``25``, ``12.5``, ``12,5 %``) in basis points, from 0 to 10,000."""
    text = _typed(value, AmountError, "25").removesuffix("%").strip()
    if not text:
        raise AmountError(gettext("Enter a percentage."))
    points = _parse_decimal(text, 2, AmountError, "25", "25", "percentage")
    if points > 10_000:
        raise AmountError(gettext("A percentage goes up to 100."))
    return points


def parse_count(value: object, *, maximum: int, minimum: int = 0, unit: str = "") -> int:
    """A typed whole number (uses, a page, bytes) from ``minimum`` to ``maximum``.

    ``value`` is the text a person typed or a JSON integer; ``unit`` names what
    is counted in the messages ("uses" gives "At most 1,000 uses.").
    """
    units = f" {unit}" if unit else ""
    text = _typed(value, CountError, "12")
    if not text:
        raise CountError(gettext("Enter a whole number."))
    _refuse_lookalikes(text, CountError, "12", "number")
    if _DIGITS.fullmatch(text) is None:
        if re.fullmatch(r"[0-9]{1,3}(?:[.,' \u00a0\u202f\u2009’_][0-9]{3})+", text):
            grouped = re.sub(r"[^0-9]", "", text)
            raise CountError(
                gettext("Write %(grouped)s without a thousands separator.") % {"grouped": grouped}
            )
        if re.fullmatch(r"[0-9]*[.,][0-9]*", text):
            raise CountError(gettext("Enter a whole number, like 12."))
        raise CountError(gettext("Write a whole number with the digits 0 to 9, like 12."))
    digits = text.lstrip("0") or "0"
    number = 10**30 if len(digits) > len(str(maximum)) else int(digits)
    if number > maximum:
        raise CountError(
            gettext("At most %(maximum)s%(units)s.")
            % {"maximum": format(maximum, ","), "units": units}
        )
    if number < minimum:
        raise CountError(gettext("At least %(minimum)s.") % {"minimum": format(minimum, ",")})
    return number
