"""Numbers, amounts and sizes written the way the reader's language writes them.

Babel holds the CLDR data (where the currency sign goes, the decimal and
grouping marks, the spaces) so the shop does not keep its own tables: in
French an amount is ``12,50 €`` and a size ``1,5 Mo``; in English ``€12.50``
and ``1.5 MB``. The language is the active one (``django.utils.translation``),
so a page, a mail rendered under ``translation.override`` and a message built
in a view all follow the person who reads them. Dates stay with Django's
``date`` filter, which already names months and days in the active language.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_decimal
from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext

# A currency written in letters ("KWD", "CHF") is set apart from the digits.
_LETTER_THEN_DIGIT = re.compile(r"(?<=[A-Za-z])(?=[-0-9])|(?<=[0-9])(?=[A-Za-z])")


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(translation.to_locale(settings.LANGUAGE_CODE))


def language_or_default(code: str | None) -> str:
    """``code`` if the shop speaks it (``fr``, ``fr-ca`` → ``fr``), else the default language."""
    try:
        return translation.get_supported_language_variant(code or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def current_language() -> str:
    """The active language, as stored on orders and profiles."""
    return language_or_default(translation.get_language())


def current_locale() -> Locale:
    """Babel's locale for the active language (the default one outside a request)."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=64)
def _money_pattern(code: str, places: int) -> NumberPattern:
    pattern = copy.copy(_locale(code).currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern


def format_amount(value: Decimal, currency: str, places: int) -> str:
    """``value`` (major units) in ``currency`` with exactly ``places`` decimals."""
    locale = current_locale()
    text = _money_pattern(str(locale), places).apply(
        value, locale, currency=currency, currency_digits=False
    )
    return _LETTER_THEN_DIGIT.sub("\u00a0", text)


def format_number(value: int | float | Decimal, *, decimals: int | None = None) -> str:
    """A count or a figure: ``12,345`` in English, ``12 345`` in French."""
    locale = current_locale()
    if decimals is None:
        return format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale)


def format_size(size: int) -> str:
    """Bytes in decimal units, one decimal at most: "1.5 MB" / "1,5 Mo", "50 GB"."""
    value = float(size)
    units = (
        pgettext("file size", "KB"),
        pgettext("file size", "MB"),
        pgettext("file size", "GB"),
        pgettext("file size", "TB"),
    )
    if value < 1000:
        count = int(value)
        return translation.ngettext("%(size)s byte", "%(size)s bytes", count) % {
            "size": format_number(count)
        }
    for unit in units:
        value /= 1000
        if value < 1000 or unit == units[-1]:
            text = format_decimal(round(value, 1), format="#,##0.#", locale=current_locale())
            # The French catalogue joins them with a no-break space.
            return pgettext("file size", "%(number)s %(unit)s") % {"number": text, "unit": unit}
    raise AssertionError("unreachable")  # pragma: no cover
