"""Finding things, in Chromium: search from the home page's header, filter, open a tag."""

from __future__ import annotations

import re

import pytest

from catalog.discovery.services import search_reindex
from catalog.models import Product, Tag
from tests.factories import ProductFactory, SellerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_search_from_the_home_page_filter_and_open_a_tag(page, live_server, shot):
    seller = SellerFactory(display_name="Les Ondes Douces")
    album = ProductFactory(title="Night Trains", kind="music", seller=seller, price=700)
    album.tags.set([Tag.objects.create(slug="ambient")])
    ProductFactory(title="Night Recipes", kind="ebook", price=300)
    other = ProductFactory(title="Tide Tables", kind="music", seller=seller, price=900)
    other.tags.set([Tag.objects.get(slug="ambient")])
    search_reindex()

    page.goto(live_server.url + "/")
    header = page.locator("header.site-header")
    header.get_by_role("searchbox", name="Search the shop").fill("night")
    header.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search/\?q=night"))
    results = page.locator("ul.grid .card")
    assert results.count() == 2
    assert page.locator("ul.grid mark").first.inner_text() == "Night"

    page.get_by_label("Kind").select_option("music")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"kind=music"))
    assert results.count() == 1
    assert "Night Trains" in results.first.inner_text()
    shot("search-filtered")

    results.first.get_by_role("link").click()
    page.wait_for_url(re.compile(re.escape(album.get_absolute_url()) + "$"))
    page.get_by_role("link", name="ambient").click()
    page.wait_for_url(re.compile(r"/tags/ambient/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Tagged “ambient”"
    titles = page.locator("ul.grid .card .title").all_inner_texts()
    assert sorted(titles) == ["Night Trains", "Tide Tables"]
    assert Product.objects.filter(tags__slug="ambient").count() == 2
    shot("search-tag-page")
