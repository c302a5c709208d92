from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from catalog.discovery import text
from catalog.discovery.cards import product_cards
from catalog.markdown import markdown_plain

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
def kind_url(kind: str) -> str:
    """The listing page of a product kind."""
    return reverse("discovery:kind", kwargs={"kind": _KIND_SLUGS[kind]})


@register.simple_tag
def cards(products: list, terms: list[str] | None = None) -> list[SafeString]:
    """``{% cards products terms as rendered %}``: each product's card, cached per product."""
    return product_cards(products, terms or ())
