"""Product cards for every listing, rendered once per product and language.

A card is a pure function of a few fields of the product and its seller, the
language, and the card's templates, so the cache key is a digest of exactly
those: an edit anywhere (a title, a price, a seller's name, a new cover)
gives a new key, and nothing has to be invalidated (decision 90). A
search's cards highlight the words searched and show an excerpt: their key
holds the words too, and they are kept an hour, not a day. The process keeps
its last 4,096 cards in front of the shared cache (``catalog/kept.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from catalog.kept import ProcessFront
from catalog.models import Product, Seller
from catalog.sqlshape import Rows

CARD_TEMPLATE = "catalog/_card.html"
# What the card includes; a change to either file gives every card a new key.
CARD_TEMPLATES = (CARD_TEMPLATE, "catalog/_price.html")
CARD_SECONDS = 24 * 3600
SEARCH_CARD_SECONDS = 3600
# The process's copies in front of the shared cache (catalog/kept.py): 4,096 cards, a few MB.
_KEPT = ProcessFront(4096)


@lru_cache(maxsize=8)
def _version(template: Any) -> str:
    """The card templates' sources and the media address; ``template`` is the compiled card
    template, a new object once the cached loader is reset (``DEBUG``'s autoreload)."""
    digest = hashlib.blake2b(digest_size=6)
    for name in CARD_TEMPLATES:
        source = get_template(name).template.source  # type: ignore[attr-defined]
        digest.update(source.encode())
    digest.update(str(settings.MEDIA_URL).encode())
    return digest.hexdigest()


def _shown(product: Product) -> tuple[object, ...]:
    """What a card shows of ``product``: every value its key is a digest of."""
    return (
        product.pk,
        product.slug,
        product.title,
        product.kind,
        product.pricing,
        product.price,
        product.currency,
        product.cover.name or "",
        product.seller.slug,
        product.seller.display_name,
    )


# ``_shown``'s values as a listing's columns, in its order.
_SHOWN_COLUMNS = (
    (Product, "id"), (Product, "slug"), (Product, "title"), (Product, "kind"),
    (Product, "pricing"), (Product, "price"), (Product, "currency"), (Product, "cover"),
    (Seller, "slug"), (Seller, "display_name"),
)  # fmt: skip
_COVER = _SHOWN_COLUMNS.index((Product, "cover"))


def _shown_in_rows(rows: Rows[Product], terms: Sequence[str]) -> list[tuple[object, ...]]:
    """``_shown`` (with the search's words and description, as ``card_key`` adds them) of
    each row, read from its columns: no product is made."""
    if not terms:
        return [_cover_named(values) for values in rows.values(_SHOWN_COLUMNS)]
    columns = (*_SHOWN_COLUMNS, (Product, "description"))
    return [
        (*_cover_named(values[:-1]), tuple(terms), values[-1]) for values in rows.values(columns)
    ]


def _cover_named(values: tuple[object, ...]) -> tuple[object, ...]:
    # The column holds the cover's name, as ``product.cover.name``; a product without one
    # shows "" either way.
    return (*values[:_COVER], values[_COVER] or "", *values[_COVER + 1 :])


def _prefix(language: str) -> str:
    version = _version(get_template(CARD_TEMPLATE).template)  # type: ignore[attr-defined]
    return f"card:{version}:{language}:"


def _key(shown: tuple[object, ...], prefix: str) -> str:
    return prefix + hashlib.blake2b(repr(shown).encode(), digest_size=12).hexdigest()


def card_key(product: Product, language: str, terms: Sequence[str] = ()) -> str:
    """The cache key of ``product``'s card in ``language``: a digest of what the card shows."""
    shown = _shown(product)
    if terms:
        # The excerpt is cut from the description around the words.
        shown = (*shown, tuple(terms), product.description)
    return _key(shown, _prefix(language))


def _render(product: Product, terms: Sequence[str]) -> SafeString:
    html = get_template(CARD_TEMPLATE).render({"p": product, "terms": list(terms)})
    return mark_safe(html)


def product_cards(products: Sequence[Product], terms: Sequence[str] = ()) -> list[SafeString]:
    """The cards of ``products``, in order: the process's copies, then at most one round
    trip to the shared cache for the page."""
    language = get_language() or settings.LANGUAGE_CODE
    if isinstance(products, Rows):
        # A listing's rows: the keys come from their columns, and only the cards missing
        # from the cache make their products (decision 98).
        prefix = _prefix(language)
        keys = [_key(shown, prefix) for shown in _shown_in_rows(products, terms)]
    else:
        keys = [card_key(product, language, terms) for product in products]
    found: dict[str, str] = _KEPT.get_many(keys)
    missing: dict[str, str] = {}
    cards = []
    for index, key in enumerate(keys):
        html = found.get(key)
        if html is None:
            html = missing[key] = _render(products[index], terms)
        cards.append(mark_safe(html))
    if missing:
        _KEPT.set_many(missing, SEARCH_CARD_SECONDS if terms else CARD_SECONDS)
    return cards
