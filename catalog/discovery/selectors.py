"""Reads for search and the listings: one selector, ``listing``, for every listing page.

Pages after the first are reached by a cursor (keyset pagination), not an
offset: ``?after=`` names the last product shown, signed so that a visitor
cannot hand the database anything but a value it wrote itself. Sorting by
newest or by price then costs the same on page 1 and on page 4,000. Sorting by
relevance is ranked over every match, so it is paged by number and stops at
``RELEVANCE_MAX_PAGES`` (deeper pages help nobody; other sorts go on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.db.models import Q, QuerySet

from catalog.discovery.backends import SearchBackend, search_backend
from catalog.models import Product, Seller
from catalog.sqlshape import Rows, compiled, fetch

PER_PAGE = 24
RELEVANCE_MAX_PAGES = 20
# A common word is ranked among this many of its newest matches (more than 20 pages' worth).
RELEVANCE_CANDIDATES = 1_000
SORTS = ("relevance", "new", "price", "-price")
PRICES = ("free", "pwyw")
_CURSOR_SALT = "catalog.discovery.cursor"


class CursorError(ValueError):
    """An ``?after=`` this site did not write, or for another sort."""


@dataclass(frozen=True)
class Filters:
    terms: list[str] = field(default_factory=list)
    kind: str = ""
    price: str = ""  # one of PRICES, or any
    max_price: int | None = None  # minor units of STORE_CURRENCY
    tag: str = ""
    seller: Seller | None = None
    sort: str = "new"


@dataclass
class Listing:
    items: Sequence[Product]
    next_cursor: str = ""
    page_number: int = 1
    has_next: bool = False
    # No word matched as typed: these are products whose names look like the words.
    fuzzy: bool = False


def cursor_encode(sort: str, product: Product) -> str:
    value: object = product.created_at.isoformat() if sort == "new" else product.price
    return _signed(sort, value, product.pk)


# A cursor's signature holds the time it was signed, which nothing reads (no max_age): the
# same place may always give the same cursor, so each process signs and reads each once
# (40 µs of a listing page, decision 107).
@lru_cache(maxsize=4096)
def _signed(sort: str, value: object, pk: int) -> str:
    return signing.dumps([sort, value, pk], salt=_CURSOR_SALT, compress=False)


@lru_cache(maxsize=4096)
def _unsigned(cursor: str) -> Any:
    # A bad signature raises, and nothing is kept.
    return signing.loads(cursor, salt=_CURSOR_SALT)


def _forget_cursors(*, setting: str, **kwargs: object) -> None:
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        _signed.cache_clear()
        _unsigned.cache_clear()


setting_changed.connect(_forget_cursors)


def cursor_decode(sort: str, cursor: str) -> tuple[object, int]:
    try:
        found = _unsigned(cursor)
        typed_sort, value, pk = found
        if typed_sort != sort or not isinstance(pk, int):
            raise CursorError(sort)
        if sort == "new":
            return datetime.fromisoformat(value), pk
        if not isinstance(value, int):
            raise CursorError(sort)
        return value, pk
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise CursorError(sort) from exc


def _filtered(filters: Filters) -> QuerySet[Product]:
    products = Product.objects.filter(status=Product.Status.PUBLISHED).select_related("seller")
    if filters.kind:
        products = products.filter(kind=filters.kind)
    if filters.price:
        products = products.filter(pricing=filters.price)
    if filters.max_price is not None:
        products = products.filter(
            Q(pricing=Product.Pricing.FREE)
            | Q(currency=settings.STORE_CURRENCY, price__lte=filters.max_price)
        )
    if filters.tag:
        products = products.filter(tags__slug=filters.tag)
    if filters.seller is not None:
        products = products.filter(seller=filters.seller)
    return products


_ORDER = {
    "new": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
}


def _after(sort: str, value: object, pk: int) -> Q:
    """Past (value, pk) in the sort's order. The bound on the value alone comes first:
    it is what lets the database start the index range there, not at the top."""
    if sort == "new":
        return Q(created_at__lte=value) & (Q(created_at__lt=value) | Q(id__lt=pk))
    if sort == "price":
        return Q(price__gte=value) & (Q(price__gt=value) | Q(id__gt=pk))
    return Q(price__lte=value) & (Q(price__lt=value) | Q(id__lt=pk))


# What a listing page shows of each product (its card) and orders it by: the other
# columns (Markdown descriptions, JSON format lists) are neither read nor decoded.
LISTED_FIELDS = (
    "id", "slug", "title", "kind", "cover", "pricing", "price", "currency", "created_at",
    "seller__id", "seller__slug", "seller__display_name",
)  # fmt: skip


_RANKED = ("-rank", "-created_at", "-id")


def _page_build(
    sort: str, start: int, count: int, backend: SearchBackend | None
) -> Callable[[Mapping[str, Any]], QuerySet[Product]]:
    """How ``_page_rows`` builds a page's query with the ORM, from its values."""

    def build(values: Mapping[str, Any]) -> QuerySet[Product]:
        seller = values["seller"]
        filters = Filters(
            kind=values["kind"] or "",
            price=values["price"] or "",
            max_price=values["max_price"],
            tag=values["tag"] or "",
            seller=None if seller is None else Seller(pk=seller),
        )
        products = _filtered(filters)
        if backend is None:
            products = products.only(*LISTED_FIELDS)
        else:
            products = backend.match_text(
                products.only(*LISTED_FIELDS, "description"),
                values["text"],
                floor=values["floor"],
                ids=values["ids"],
                ranked=sort == "relevance",
            )
        if values["after_pk"] is not None:
            products = products.filter(_after(sort, values["after_value"], values["after_pk"]))
        order = _RANKED if sort == "relevance" else _ORDER[sort]
        return products.order_by(*order)[start : start + count]

    return build


def _page_rows(
    filters: Filters,
    sort: str,
    *,
    count: int,
    start: int = 0,
    bound: tuple[object, int] | None = None,
    backend: SearchBackend | None = None,
    floor: int | None = None,
    ids: list[int] | None = None,
) -> Rows[Product]:
    """``count`` listed products from ``start``, in ``sort``'s order (``relevance``: the
    backend's rank), past ``bound`` (a cursor's value and id) if given; the words of
    ``filters`` matched through ``backend``, from id ``floor`` up, when it is given, or
    among ``ids``.

    The SQL is compiled once per shape (which filters are set, the sort, the place, a
    cursor or not, the database; decision 98). The rows become products (with their
    sellers) only when asked for: a card kept in the cache needs none (``cards.py``)."""
    values = {
        "kind": filters.kind or None,
        "price": filters.price or None,
        "max_price": filters.max_price,
        "tag": filters.tag or None,
        "seller": None if filters.seller is None else filters.seller.pk,
        "text": None if backend is None else backend.query_text(filters.terms),
        "floor": floor,
        "ids": ids,
        "after_value": None if bound is None else bound[0],
        "after_pk": None if bound is None else bound[1],
    }
    query, params = compiled(
        ("listing", sort, start, count, settings.STORE_CURRENCY, type(backend).__name__),
        _page_build(sort, start, count, backend),
        values,
    )
    return fetch(query, params, Product, related={"seller": Seller})


def _ranked_rows(
    backend: SearchBackend, filters: Filters, start: int, count: int
) -> Sequence[Product]:
    """``count`` ranked matches from ``start``. A word found in many products is ranked
    among its ``RELEVANCE_CANDIDATES`` newest matches only, so that ranking costs the
    same at any catalog size (decision 90); a page the candidates cannot fill (narrow
    filters) is ranked over every match, given by their ids when the backend has them
    (decision 109)."""
    floor = backend.candidates(filters.terms, RELEVANCE_CANDIDATES)
    if isinstance(floor, list):
        return _page_rows(
            filters, "relevance", count=count, start=start, backend=backend, ids=floor
        )
    if floor is not None:
        found = _page_rows(
            filters, "relevance", count=count, start=start, backend=backend, floor=floor
        )
        if len(found) == count:
            return found
    return _page_rows(filters, "relevance", count=count, start=start, backend=backend)


def listing(
    filters: Filters, *, after: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Listing:
    """One page of listed products; raises ``CursorError`` for an ``after`` it cannot read."""
    sort = filters.sort if filters.sort in _ORDER else "new"
    ranked = bool(filters.terms) and filters.sort == "relevance"
    if ranked and after:
        raise CursorError(filters.sort)
    page = min(max(page, 1), RELEVANCE_MAX_PAGES)
    start = (page - 1) * per_page
    bound = cursor_decode(sort, after) if after and not ranked else None
    if not filters.terms:
        return _keyset_page(
            _page_rows(filters, sort, count=per_page + 1, bound=bound), sort, per_page
        )
    backend = search_backend()
    if type(backend) is SearchBackend:
        # A database without an index of its own finds nothing.
        return Listing(items=[], page_number=page if ranked else 1)
    if backend.fuzzy:
        products = _filtered(filters).only(*LISTED_FIELDS, "description")
        if not backend.match(products, filters.terms).exists():
            # No word matched as typed: names that look like the words, through the ORM.
            similar = backend.similar(products, filters.terms)
            if ranked:
                rows = list(similar.order_by(*_RANKED)[start : start + per_page + 1])
                return _ranked_page(rows, page, per_page, fuzzy=True)
            if bound is not None:
                similar = similar.filter(_after(sort, *bound))
            rows = list(similar.order_by(*_ORDER[sort])[: per_page + 1])
            return _keyset_page(rows, sort, per_page, fuzzy=True)
    if ranked:
        return _ranked_page(_ranked_rows(backend, filters, start, per_page + 1), page, per_page)
    found = _page_rows(filters, sort, count=per_page + 1, bound=bound, backend=backend)
    return _keyset_page(found, sort, per_page)


def _ranked_page(
    found_rows: Sequence[Product], page: int, per_page: int, *, fuzzy: bool = False
) -> Listing:
    """Page ``page`` of a ranked list from its rows and one more (if any)."""
    return Listing(
        items=found_rows[:per_page],
        page_number=page,
        has_next=len(found_rows) > per_page and page < RELEVANCE_MAX_PAGES,
        fuzzy=fuzzy,
    )


def _keyset_page(
    found_rows: Sequence[Product], sort: str, per_page: int, *, fuzzy: bool = False
) -> Listing:
    """A page from its rows and one more (if any): the cursor names the page's last."""
    found = Listing(items=found_rows[:per_page], has_next=len(found_rows) > per_page, fuzzy=fuzzy)
    if found.has_next:
        found.next_cursor = cursor_encode(sort, found.items[-1])
    return found
