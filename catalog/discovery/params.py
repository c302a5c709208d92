"""A listing's address bar read into ``Filters``: every value checked, none trusted.

A value that cannot be used is left out with a notice saying so; only a page
or cursor that cannot be read makes the answer a 400 (with the first page),
in the tone of ``catalog/paging.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext

from catalog.discovery.selectors import PRICES, RELEVANCE_MAX_PAGES, SORTS, Filters
from catalog.discovery.text import QUERY_MAX_CHARS, query_words
from catalog.models import Product, Seller
from catalog.money import NumberError, parse_amount, parse_count
from catalog.paging import PAGE_MAX

# Longer than any cursor this site writes; anything longer is not one.
CURSOR_MAX_CHARS = 200


@dataclass
class Asked:
    filters: Filters
    query: str = ""
    after: str = ""
    page: int = 1
    typed: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    page_error: str = ""


def _one(data: QueryDict, name: str, limit: int = 100) -> str:
    return str(data.get(name, "")).replace("\x00", "").strip()[:limit]


def listing_asked(
    data: QueryDict,
    *,
    searching: bool = False,
    kind: str = "",
    tag: str = "",
    seller: Seller | None = None,
) -> Asked:
    """The filters, sort and place asked for; a fixed ``kind``/``tag``/``seller`` wins."""
    notices: list[str] = []
    typed: dict[str, str] = {}
    query = ""
    terms: list[str] = []
    if searching:
        raw = str(data.get("q", "")).replace("\x00", "")
        if len(raw) > QUERY_MAX_CHARS:
            notices.append(
                gettext("Only the first %(count)s characters of a search are used.")
                % {"count": QUERY_MAX_CHARS}
            )
        query = raw[:QUERY_MAX_CHARS].strip()
        terms = query_words(query)
        typed["q"] = query
    if not kind:
        typed["kind"] = _one(data, "kind")
        if typed["kind"] in Product.Kind.values:
            kind = typed["kind"]
        elif typed["kind"]:
            notices.append(gettext("There is no such kind of product: showing every kind."))
            typed["kind"] = ""
    price = _one(data, "price")
    if price and price not in PRICES:
        notices.append(gettext("Choose a price from the list: showing every price."))
        price = ""
    typed["price"] = price
    max_price = None
    typed["max"] = _one(data, "max", 40)
    if typed["max"]:
        try:
            max_price = parse_amount(typed["max"], settings.STORE_CURRENCY)
        except NumberError as exc:
            notices.append(gettext("The top price was left out: %(reason)s") % {"reason": exc})
            typed["max"] = ""
    if not tag:
        typed["tag"] = _one(data, "tag", 40).lower()
        tag = typed["tag"]
    default_sort = "relevance" if terms else "new"
    sort = _one(data, "sort", 20) or default_sort
    if sort not in SORTS or (sort == "relevance" and not terms):
        sort = default_sort
    typed["sort"] = sort
    asked = Asked(
        filters=Filters(
            terms=terms,
            kind=kind,
            price=price,
            max_price=max_price,
            tag=tag,
            seller=seller,
            sort=sort,
        ),
        query=query,
        typed=typed,
        notices=notices,
    )
    after = str(data.get("after", ""))
    if len(after) > CURSOR_MAX_CHARS:
        asked.page_error = gettext(
            "No such page: this link to a later page is damaged or out of date. "
            "Here is the first page."
        )
    else:
        asked.after = after
    typed_page = data.get("page")
    if typed_page:
        try:
            asked.page = parse_count(typed_page, minimum=1, maximum=PAGE_MAX)
        except NumberError as exc:
            asked.page_error = gettext(
                "No such page: %(reason)s Pages are numbered from 1, like ?page=2."
            ) % {"reason": exc}
        if sort == "relevance" and asked.page > RELEVANCE_MAX_PAGES:
            asked.page_error = gettext(
                "Results by relevance stop at page %(count)s: add a word to narrow the "
                "search, or sort by newest to go further."
            ) % {"count": RELEVANCE_MAX_PAGES}
            asked.page = 1
    return asked
