"""Thin views: the search page, tag pages and kind pages; ``render_listing`` for every listing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext

from catalog.discovery.params import Asked, listing_asked
from catalog.discovery.selectors import CursorError, Listing, listing
from catalog.models import Product
from catalog.seo.tags import tag_find

# The address of each kind's page, and back.
KIND_PATHS = {"ebooks": "ebook", "music": "music", "videos": "video", "bundles": "bundle"}
KIND_SLUGS = {kind: path for path, kind in KIND_PATHS.items()}


def _link(asked: Asked, **changes: object) -> str:
    params = {k: v for k, v in asked.typed.items() if v}
    if params.get("sort") == ("relevance" if asked.filters.terms else "new"):
        del params["sort"]
    params.update({k: str(v) for k, v in changes.items()})
    return "?" + urlencode(params) if params else "?"


def render_listing(
    request: HttpRequest, template: str, asked: Asked, context: dict[str, Any]
) -> HttpResponse:
    """One page of ``asked``: the products, the filters as typed, the links to the next page."""
    status = 400 if asked.page_error else 200
    try:
        found = listing(asked.filters, after=asked.after, page=asked.page)
    except CursorError:
        asked.page_error = gettext(
            "No such page: this link to a later page is damaged or out of date. "
            "Here is the first page."
        )
        status = 400
        found = listing(asked.filters)
    next_url = ""
    if found.next_cursor:
        next_url = _link(asked, after=found.next_cursor)
    elif found.has_next:
        next_url = _link(asked, page=found.page_number + 1)
    previous_url = ""
    if found.page_number > 1:
        previous_url = _link(asked, page=found.page_number - 1)
    context.update(
        {
            "asked": asked,
            "typed": asked.typed,
            "found": found,
            "products": found.items,
            "terms": asked.filters.terms,
            "next_url": next_url,
            "previous_url": previous_url,
            "first_url": _link(asked) if asked.after else "",
            "kinds": Product.Kind.choices,
            "page_error": asked.page_error,
            "store_currency": settings.STORE_CURRENCY,
            # The header's search box keeps what was searched.
            "search_query": asked.query,
        }
    )
    return render(request, template, context, status=status)


def search(request: HttpRequest) -> HttpResponse:
    asked = listing_asked(request.GET, searching=True)
    if not asked.filters.terms:
        # Nothing to look for: a page that says so, without querying.
        empty = Listing(items=[])
        return render(
            request,
            "discovery/search.html",
            {
                "asked": asked,
                "typed": asked.typed,
                "found": empty,
                "products": [],
                "terms": [],
                "kinds": Product.Kind.choices,
                "page_error": asked.page_error,
                "store_currency": settings.STORE_CURRENCY,
                "search_query": asked.query,
            },
            status=400 if asked.page_error else 200,
        )
    return render_listing(request, "discovery/search.html", asked, {})


def tag(request: HttpRequest, tag: str) -> HttpResponse:
    found = tag_find(tag)
    if found is None:
        raise Http404(gettext("No such tag."))
    asked = listing_asked(request.GET, tag=found.slug)
    return render_listing(request, "discovery/tag.html", asked, {"tag": found})


def kind(request: HttpRequest, kind: str) -> HttpResponse:
    code = KIND_PATHS.get(kind)
    if code is None:
        raise Http404(gettext("No such kind of product."))
    asked = listing_asked(request.GET, kind=code)
    return render_listing(
        request,
        "discovery/kind.html",
        asked,
        {"kind": code, "kind_label": Product.Kind(code).label},
    )
