"""Reads compiled once per shape (catalog/sqlshape.py, decision 98): the same rows as the
ORM's for every shape and value, nothing kept but the SQL, so every change shows at once."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from catalog.discovery import text
from catalog.discovery.cards import card_key, product_cards
from catalog.discovery.selectors import (
    _ORDER,
    LISTED_FIELDS,
    Filters,
    _after,
    _filtered,
    cursor_decode,
    listing,
)
from catalog.discovery.services import search_reindex
from catalog.models import Asset, Product, Seller, Tag
from catalog.selectors import product_public, seller_public
from catalog.seo.tags import tag_find
from catalog.sqlshape import Rows, compiled
from tests.factories import ProductFactory, SellerFactory, add_file

pytestmark = pytest.mark.django_db


def _catalogue() -> list[Seller]:
    rng = random.Random(3)
    sellers = [SellerFactory(display_name=f"Maker {i}") for i in range(3)]
    tags = [Tag.objects.create(slug=f"t{i}") for i in range(3)]
    now = timezone.now()
    for n in range(40):
        pricing = rng.choice(("free", "fixed", "pwyw"))
        product = ProductFactory(
            seller=rng.choice(sellers),
            title=f"{rng.choice(('Night', 'River', 'Stone'))} work {n}",
            kind=rng.choice(Product.Kind.values),
            pricing=pricing,
            price=0 if pricing == "free" else rng.choice((300, 500, 900)),
        )
        # Ties two by two, for the cursor.
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(hours=n // 2))
        product.tags.set(rng.sample(tags, 2))
    search_reindex()
    return sellers


def _seen(products: object) -> list[tuple[object, ...]]:
    return [
        (p.pk, p.title, p.price, p.cover.name, p.created_at, p.seller.display_name, p.seller_id)
        for p in products  # type: ignore[attr-defined]
    ]


def test_a_listing_reads_what_the_orm_reads_for_every_shape_and_value():
    sellers = _catalogue()
    shapes = itertools.product(
        ("", "music", "ebook"),
        ("", "free", "pwyw"),
        (None, 500),
        ("", "t1"),
        (None, *sellers[:2]),
        ("new", "price", "-price"),
    )
    for kind, price, max_price, tag, seller, sort in shapes:
        filters = Filters(
            kind=kind, price=price, max_price=max_price, tag=tag, seller=seller, sort=sort
        )
        found = listing(filters, per_page=5)
        pages = 0
        after = ""
        while True:
            products = _filtered(filters).only(*LISTED_FIELDS)
            if after:
                products = products.filter(_after(sort, *cursor_decode(sort, after)))
            rows = list(products.order_by(*_ORDER[sort])[:6])
            assert _seen(found.items) == _seen(rows[:5]), (filters, after)
            assert found.has_next == (len(rows) > 5)
            pages += 1
            if not found.has_next:
                break
            after = found.next_cursor
            found = listing(filters, after=after, per_page=5)
        assert pages >= 1
    first = listing(Filters(sort="new"), per_page=5).items[0]
    assert timezone.is_aware(first.created_at)


def test_a_search_reads_what_the_orm_reads():
    _catalogue()
    for words, sort in itertools.product(("night", "river work", "stone"), ("relevance", "new")):
        terms = text.query_words(words)
        for page in (1, 2):
            found = listing(Filters(terms=terms, sort=sort), page=page, per_page=4)
            titles = [p.title for p in found.items]
            assert titles and all(w in t.lower() for t in titles for w in terms)
            assert all(p.description is not None for p in found.items)
    ranked = listing(Filters(terms=["night"], sort="relevance"), per_page=100).items
    newest = listing(Filters(terms=["night"], sort="new"), per_page=100).items
    assert {p.pk for p in ranked} == {p.pk for p in newest}
    assert {p.pk for p in ranked} == set(
        Product.objects.filter(title__startswith="Night").values_list("pk", flat=True)
    )


def test_a_listing_shows_every_change_at_once(client):
    product = ProductFactory(title="Harbour Lights", kind="music")
    assert [p.title for p in listing(Filters()).items] == ["Harbour Lights"]
    Product.objects.filter(pk=product.pk).update(title="Harbour Nights", kind="video")
    assert [p.title for p in listing(Filters(kind="video")).items] == ["Harbour Nights"]
    assert list(listing(Filters(kind="music")).items) == []
    Product.objects.filter(pk=product.pk).update(status=Product.Status.UNLISTED)
    assert list(listing(Filters()).items) == []
    assert "Harbour Nights" not in client.get("/").content.decode()


def test_a_card_kept_from_a_row_has_the_key_of_its_product():
    ProductFactory(title="Night Ferry", description="A *night* crossing.")
    search_reindex()
    product = Product.objects.select_related("seller").get()
    for terms, sort in (([], "new"), (["night"], "relevance")):
        rows = listing(Filters(terms=terms, sort=sort)).items
        assert isinstance(rows, Rows)
        with translation.override("fr"):
            (card,) = product_cards(rows, terms)
        # Kept under the key its product would have: one digest of what the card shows.
        assert cache.get(card_key(product, "fr", terms)) == card


def test_a_listing_makes_products_only_for_the_cards_it_renders(django_assert_num_queries):
    ProductFactory.create_batch(3)
    with translation.override("en"):
        product_cards(listing(Filters()).items)
        rows = listing(Filters()).items
        made = []
        original = Product.from_db

        def counting(*args, **kwargs):
            made.append(args)
            return original(*args, **kwargs)

        Product.from_db = counting  # type: ignore[method-assign]
        try:
            product_cards(rows)
        finally:
            Product.from_db = original  # type: ignore[method-assign]
    assert made == []


def test_a_value_left_out_of_the_sql_is_refused():
    def build(values: dict[str, object]):
        return Product.objects.filter(slug=values["slug"])

    with pytest.raises(ValueError, match="kind"):
        compiled(("test-left-out",), build, {"slug": "a", "kind": "music"})
    _query, params = compiled(
        ("test-left-out",), build, {"slug": "a", "kind": "music"}, all_used=False
    )
    assert params == ["a"]


def test_the_product_page_reads_what_the_orm_prefetched(django_assert_num_queries):
    product = ProductFactory(title="Tracks", status=Product.Status.UNLISTED)
    for name in ("b.pdf", "a.pdf"):
        add_file(product, name=name)
    product.tags.set([Tag.objects.create(slug=s) for s in ("zeta", "alpha")])
    with django_assert_num_queries(3):
        found = product_public(seller_slug=product.seller.slug, product_slug=product.slug)
    assert found is not None
    expected = list(Asset.objects.filter(product=product).order_by("role", "position", "id"))
    with django_assert_num_queries(0):
        assert [a.pk for a in found.ordered_assets] == [a.pk for a in expected]
        assert all(a.product is found for a in found.ordered_assets)
        assert [t.slug for t in found.listed_tags] == ["alpha", "zeta"]
        assert found.seller.slug == product.seller.slug and found.description == ""
    assert product_public(seller_slug="nobody", product_slug=product.slug) is None
    Product.objects.filter(pk=product.pk).update(status=Product.Status.DRAFT)
    assert product_public(seller_slug=product.seller.slug, product_slug=product.slug) is None
    assert seller_public(slug=product.seller.slug) == product.seller
    assert seller_public(slug="nobody") is None
    assert tag_find("alpha").slug == "alpha" and tag_find("beta") is None


def test_compiled_reads_go_through_djangos_cursor():
    ProductFactory()
    with CaptureQueriesContext(connection) as queries:
        listing(Filters())
    assert len(queries) == 1 and "catalog_product" in queries[0]["sql"]
