"""A product's (and a seller's) meta description is plain text, never raw Markdown."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from catalog.markdown import markdown_plain
from catalog.models import Product
from tests.factories import ProductFactory, SellerFactory


def _meta_description(page: str) -> str:
    match = re.search(r'<meta name="description" content="([^"]*)">', page)
    assert match, "no meta description"
    return html.unescape(match.group(1))


def test_markdown_becomes_words_without_marks_or_tags():
    text = (
        "An essay on **long tails** and [tiny audiences](https://example.com).\n\n"
        "- PDF\n- EPUB\n\n<script>alert(1)</script>\n\nFish &amp; chips < 5 € and R&D"
    )
    assert markdown_plain(text) == (
        "An essay on long tails and tiny audiences. PDF EPUB Fish & chips < 5 € and R&D"
    )


def test_a_long_text_is_cut_on_a_word_boundary_with_an_ellipsis():
    text = " ".join(["word"] * 30) + " unbreakable" * 10
    plain = markdown_plain(text, limit=40)
    assert len(plain) <= 40
    assert plain.endswith("word…")
    assert "wor…" not in plain


def test_a_short_text_is_left_whole():
    assert markdown_plain("Just *this*.") == "Just this."
    assert markdown_plain("") == ""


@pytest.mark.django_db
def test_the_product_page_describes_itself_in_plain_text():
    product = ProductFactory(
        status=Product.Status.PUBLISHED,
        description="# Night Trains\n\nFour **tracks** recorded _between_ two stations.\n\n"
        + "More words here. " * 20,
    )
    description = _meta_description(Client().get(product.get_absolute_url()).content.decode())
    assert description.startswith("Night Trains Four tracks recorded between two stations.")
    assert not re.search(r"[*_#]", description)
    assert len(description) <= 160 and description.endswith("…")


@pytest.mark.django_db
def test_a_seller_page_describes_the_bio_in_plain_text():
    seller = SellerFactory(bio="Gentle **electronic** music.\n\n> for trains")
    description = _meta_description(Client().get(seller.get_absolute_url()).content.decode())
    assert description == "Gentle electronic music. for trains"
