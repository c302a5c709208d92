"""Writes of the search index: called by every service that changes a product.

``product_index`` is the one function they call: it rewrites the product's
document when the product is listed (published) and removes it otherwise, so
the index follows creation, edits, files, tags, the seller's name, publishing,
unpublishing, archiving and deletion alike.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import translation

from catalog.discovery.models import SearchDocument
from catalog.discovery.text import indexed
from catalog.models import Asset, Product, Seller

_LINK_TARGET = re.compile(r"\]\([^)]*\)|^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_HTML_TAG = re.compile(r"<[^>]*>")

# Enough of a description for search; the rest rarely adds a word someone types.
BODY_MAX_CHARS = 20_000


def _kind_words(kind: str) -> str:
    """The kind's value and its name in every language of the site ("music musique")."""
    names = [kind]
    label = Product.Kind(kind).label
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.append(str(label))
    return " ".join(names)


def _markdown_words(text: str) -> str:
    """Markdown as the index needs it: the words a reader sees, not link targets or tags.

    Not a render (a Markdown parser costs milliseconds a product): markup
    characters are separators for ``text.words`` anyway, so dropping link
    targets, HTML tags and entities leaves the same words.
    """
    text = _LINK_TARGET.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    return html.unescape(text)


def _document(product: Product) -> SearchDocument:
    tags = " ".join(t.slug.replace("-", " ") for t in product.tags.all())
    tracks = " ".join(
        str(a.metadata.get("title") or a.original_filename.rsplit(".", 1)[0])
        for a in product.assets.all()
        if a.role == Asset.Role.DELIVERABLE
    )
    title = indexed(product.title)
    seller = indexed(product.seller.display_name)
    return SearchDocument(
        product=product,
        title=title,
        tags=indexed(tags),
        seller=seller,
        tracks=indexed(tracks),
        body=indexed(_markdown_words(product.description[:BODY_MAX_CHARS])),
        kind=indexed(_kind_words(product.kind)),
        names=" ".join(part for part in (title, seller, indexed(tags)) if part),
    )


def products_index(*, product_ids: Iterable[int]) -> int:
    """Bring the documents of these products up to date; returns how many are listed."""
    ids = list(product_ids)
    listed = list(
        Product.objects.filter(pk__in=ids, status=Product.Status.PUBLISHED)
        .select_related("seller")
        .prefetch_related("tags", "assets")
    )
    documents = [_document(product) for product in listed]
    with transaction.atomic():
        # Deleted, then written anew: the same two statements on every database,
        # and SQLite's triggers keep its FTS table in step either way.
        SearchDocument.objects.filter(product_id__in=ids).delete()
        SearchDocument.objects.bulk_create(documents)
    return len(listed)


def product_index(*, product: Product) -> None:
    """Index ``product`` as it now is (or drop it from the index if not listed)."""
    products_index(product_ids=[product.pk])


def seller_index(*, seller: Seller) -> None:
    """The seller's name is in each of their products' documents."""
    ids = Product.objects.filter(seller=seller, status=Product.Status.PUBLISHED).values_list(
        "pk", flat=True
    )
    products_index(product_ids=ids)


def search_reindex(*, batch: int = 500) -> int:
    """Rebuild every document from the catalog (``manage.py search_reindex``)."""
    count = 0
    SearchDocument.objects.exclude(product__status=Product.Status.PUBLISHED).delete()
    ids = list(
        Product.objects.filter(status=Product.Status.PUBLISHED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), batch):
        count += products_index(product_ids=ids[start : start + batch])
    return count
