"""Reads for search and the listings: one selector, ``listing``, for every listing page.

Pages after the first are reached by a cursor (keyset pagination), not an
offset: ``?after=`` names the last product shown, signed so that a visitor
cannot hand the database anything but a value it wrote itself. Sorting by
newest or by price then costs the same on page 1 and on page 4,000. Sorting by
relevance is ranked over every match, so it is paged by number and stops at
``RELEVANCE_MAX_PAGES`` (deeper pages help nobody; other sorts go on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet

from catalog.discovery.backends import SearchBackend, search_backend
from catalog.models import Product, Seller

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
    items: list[Product]
    next_cursor: str = ""
    page_number: int = 1
    has_next: bool = False
    # No word matched as typed: these are products whose names look like the words.
    fuzzy: bool = False


def cursor_encode(sort: str, product: Product) -> str:
    value: object = product.created_at.isoformat() if sort == "new" else product.price
    return signing.dumps([sort, value, product.pk], salt=_CURSOR_SALT, compress=False)


def cursor_decode(sort: str, cursor: str) -> tuple[object, int]:
    try:
        found = signing.loads(cursor, salt=_CURSOR_SALT)
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


def _ranked(matched: QuerySet[Product]) -> QuerySet[Product]:
    return matched.order_by("-rank", "-created_at", "-id")  # type: ignore[misc]


def _ranked_rows(
    backend: SearchBackend, products: QuerySet[Product], terms: list[str], start: int, count: int
) -> list[Product]:
    """``count`` ranked matches from ``start``. A word found in many products is ranked
    among its ``RELEVANCE_CANDIDATES`` newest matches only, so that ranking costs the
    same at any catalog size (decision 90); a page the candidates cannot fill (narrow
    filters) is ranked over every match."""
    floor = backend.newest_floor(terms, RELEVANCE_CANDIDATES)
    if floor is not None:
        rows = list(_ranked(backend.match(products, terms, floor=floor))[start : start + count])
        if len(rows) == count:
            return rows
    return list(_ranked(backend.match(products, terms))[start : start + count])


def listing(
    filters: Filters, *, after: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Listing:
    """One page of listed products; raises ``CursorError`` for an ``after`` it cannot read."""
    products = _filtered(filters).only(*LISTED_FIELDS)
    fuzzy = False
    if filters.terms:
        products = products.only(*LISTED_FIELDS, "description")
        backend = search_backend()
        matched = backend.match(products, filters.terms)
        if backend.fuzzy and not matched.exists():
            matched, fuzzy = backend.similar(products, filters.terms), True
        if filters.sort == "relevance":
            if after:
                raise CursorError(filters.sort)
            page = min(max(page, 1), RELEVANCE_MAX_PAGES)
            start = (page - 1) * per_page
            if fuzzy:
                rows = list(_ranked(matched)[start : start + per_page + 1])
            else:
                rows = _ranked_rows(backend, products, filters.terms, start, per_page + 1)
            return Listing(
                items=rows[:per_page],
                page_number=page,
                has_next=len(rows) > per_page and page < RELEVANCE_MAX_PAGES,
                fuzzy=fuzzy,
            )
        products = matched
    sort = filters.sort if filters.sort in _ORDER else "new"
    if after:
        value, pk = cursor_decode(sort, after)
        products = products.filter(_after(sort, value, pk))
    rows = list(products.order_by(*_ORDER[sort])[: per_page + 1])
    found = Listing(items=rows[:per_page], has_next=len(rows) > per_page, fuzzy=fuzzy)
    if found.has_next:
        found.next_cursor = cursor_encode(sort, found.items[-1])
    return found
