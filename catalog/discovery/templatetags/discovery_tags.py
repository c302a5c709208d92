from __future__ import annotations

from collections.abc import Callable

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from catalog.discovery import text
from catalog.discovery.cards import product_cards
from catalog.fragments import fragment
from catalog.markdown import markdown_plain
from catalog.models import Product
from catalog.paths import path_to

register = template.Library()

_KIND_SLUGS = {"ebook": "ebooks", "music": "music", "video": "videos", "bundle": "bundles"}


@register.filter
def highlight(value: str, terms: list[str]) -> SafeString:
    """``value`` escaped, the words of the search in ``<mark>``."""
    return text.highlight(str(value), list(terms or []))


@register.filter
def search_excerpt(description: str, terms: list[str]) -> SafeString:
    """The part of a Markdown description around the first match, as highlighted plain text."""
    plain = markdown_plain(description, limit=5000)
    return text.excerpt(plain, list(terms or []))


@register.filter
def kind_label(kind: str) -> str:
    """The name of a product kind, in the active language."""
    return str(Product.Kind(kind).label)


@register.filter
def kind_url(kind: str) -> str:
    """The listing page of a product kind."""
    return path_to("discovery:kind", kind=_KIND_SLUGS[kind])


@register.simple_tag
def cards(products: list, terms: list[str] | None = None) -> SafeString:
    """``{% cards products terms %}``: each product's card, cached per product, in a row."""
    return mark_safe("".join(product_cards(products, terms or ())))


@register.simple_tag(takes_context=True)
def filters_form(
    context: template.Context,
    *,
    searching: bool = False,
    fixed_kind: bool = False,
    fixed_tag: bool = False,
) -> SafeString:
    """``{% filters_form fixed_tag=True %}``: a listing's filter form, kept per process
    (decision 97); the words, top price and tag typed are the visitor's own."""
    typed = context.get("typed") or {}

    def typed_value(name: str) -> Callable[[], str]:
        return lambda: conditional_escape(typed.get(name, ""))

    return fragment(
        "discovery/_filters.html",
        {
            "searching": searching,
            "fixed_kind": fixed_kind,
            "fixed_tag": fixed_tag,
            # The codes: each label is its code's, in the language of the key.
            "kinds": tuple(code for code, _label in context.get("kinds") or ()),
            "terms": bool(context.get("terms")),
            "store_currency": context.get("store_currency"),
            "chosen_kind": typed.get("kind", ""),
            "chosen_price": typed.get("price", ""),
            "chosen_sort": typed.get("sort", ""),
        },
        {"q": typed_value("q"), "max": typed_value("max"), "tag": typed_value("tag")},
    )
