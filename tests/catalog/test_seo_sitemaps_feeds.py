"""Sitemap index and sections, robots.txt, Atom feeds (read with feedparser), oEmbed."""

from __future__ import annotations

import feedparser
import pytest
from defusedxml import ElementTree as ET
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, Tag
from tests.catalog.seo_helpers import album
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _locs(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    return {
        loc.text: (
            entry.find("sm:lastmod", NS).text if entry.find("sm:lastmod", NS) is not None else None
        )
        for entry in root
        for loc in entry.findall("sm:loc", NS)
    }


def _tagged(product, *slugs):
    product.tags.set([Tag.objects.get_or_create(slug=s)[0] for s in slugs])


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_out_of_private_pages(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Disallow: /sell/" in lines and "Disallow: /library/" in lines


def test_sitemap_index_names_three_sections_with_lastmod(client):
    ProductFactory()
    index = _locs(client, "/sitemap.xml")
    assert (
        set(index)
        == {
            "http://testserver/sitemap-products.xml",
            "http://testserver/sitemap-sellers.xml",
            "http://testserver/sitemap-tags.xml",
        }
        | set()
    )  # tags: empty section still listed
    assert index["http://testserver/sitemap-products.xml"]


def test_sitemap_index_uses_site_url(client, settings):
    settings.SITE_URL, settings.SITE_URL_EXPLICIT = "https://shop.example", True
    ProductFactory()
    assert "https://shop.example/sitemap-products.xml" in _locs(client, "/sitemap.xml")
    products = _locs(client, "/sitemap-products.xml")
    assert all(loc.startswith("https://shop.example/@") for loc in products)


def test_product_section_lists_published_products_only(client):
    published = ProductFactory()
    unlisted = ProductFactory(status=Product.Status.UNLISTED)
    draft = ProductFactory(status=Product.Status.DRAFT)
    archived = ProductFactory(status=Product.Status.ARCHIVED)
    locs = _locs(client, "/sitemap-products.xml")
    assert "http://testserver" + published.get_absolute_url() in locs
    for hidden in (unlisted, draft, archived):
        assert "http://testserver" + hidden.get_absolute_url() not in locs
    assert locs["http://testserver" + published.get_absolute_url()].startswith(
        published.updated_at.date().isoformat()
    )


def test_seller_and_tag_sections_list_only_what_has_published_products(client):
    shown = ProductFactory()
    _tagged(shown, "ambient", "field-recording")
    quiet = SellerFactory()
    hidden = ProductFactory(status=Product.Status.UNLISTED)
    _tagged(hidden, "secret")
    sellers = _locs(client, "/sitemap-sellers.xml")
    assert "http://testserver" + shown.seller.get_absolute_url() in sellers
    assert "http://testserver" + quiet.get_absolute_url() not in sellers
    assert "http://testserver" + hidden.seller.get_absolute_url() not in sellers
    assert all(sellers.values())
    tags = _locs(client, "/sitemap-tags.xml")
    assert len(tags) == 2
    assert any("ambient" in loc for loc in tags)
    assert not any("secret" in loc for loc in tags)


def test_sitemap_bad_page_and_section_are_404(client):
    ProductFactory()
    assert client.get("/sitemap-nothing.xml").status_code == 404
    for page in ("abc", "-1", "1e9", "99"):
        assert client.get(f"/sitemap-products.xml?p={page}").status_code == 404


def test_sitemap_index_lastmod_is_the_newest_published_change(client):
    old = ProductFactory()
    new = ProductFactory()
    Product.objects.filter(pk=old.pk).update(updated_at=new.updated_at.replace(year=2020))
    draft = ProductFactory(status=Product.Status.DRAFT)  # a draft's change is not announced
    Product.objects.filter(pk=draft.pk).update(updated_at=new.updated_at.replace(year=2030))
    index = _locs(client, "/sitemap.xml")
    assert index["http://testserver/sitemap-products.xml"].startswith(
        new.updated_at.date().isoformat()
    )
    with CaptureQueriesContext(connection) as queries:
        client.get("/sitemap.xml")
    assert len(queries) <= 6


def test_seller_page_opengraph(client):
    seller = SellerFactory(bio="Gentle *electronic* music.")
    html = client.get(seller.get_absolute_url()).content.decode()
    assert '<meta property="og:description" content="Gentle electronic music.">' in html
    assert '<meta property="og:type" content="profile">' in html


def test_sitemap_section_query_count_does_not_grow(client, settings):
    settings.SITEMAP_CACHE_SECONDS = 0  # how building it scales, not the kept copy
    for _ in range(3):
        ProductFactory()
    with CaptureQueriesContext(connection) as few:
        client.get("/sitemap-products.xml")
    for _ in range(20):
        ProductFactory()
    with CaptureQueriesContext(connection) as many:
        client.get("/sitemap-products.xml")
    assert len(many) == len(few) <= 6


def test_shop_feed_is_atom_with_the_newest_published_products(client):
    product = album(description="Four **tracks**.")
    _tagged(product, "ambient")
    ProductFactory(status=Product.Status.UNLISTED, title="Hidden")
    response = client.get("/feeds/shop.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.version == "atom10" and not feed.bozo
    (entry,) = feed.entries
    assert entry.title == "Night Trains"
    assert entry.link == "http://testserver" + product.get_absolute_url()
    assert entry.summary == "Four tracks."
    assert entry.author == product.seller.display_name
    assert [t.term for t in entry.tags] == ["ambient"]
    assert feed.feed.link == "http://testserver/"


def test_seller_and_tag_feeds(client):
    mine = ProductFactory(title="Mine")
    _tagged(mine, "cookbook")
    other = ProductFactory(title="Other")
    _tagged(other, "ambient")
    feed = feedparser.parse(client.get(f"/feeds/@{mine.seller.slug}.atom").content)
    assert [e.title for e in feed.entries] == ["Mine"]
    assert feed.feed.title == f"New from {mine.seller.display_name}"
    feed = feedparser.parse(client.get("/feeds/tags/ambient.atom").content)
    assert [e.title for e in feed.entries] == ["Other"]
    assert client.get("/feeds/tags/nope.atom").status_code == 404
    assert client.get("/feeds/@nobody.atom").status_code == 404


def test_pages_link_their_feeds(client):
    product = ProductFactory()
    html = client.get(product.get_absolute_url()).content.decode()
    assert 'type="application/atom+xml" href="http://testserver/feeds/shop.atom"' in html
    seller_feed = f'href="http://testserver/feeds/@{product.seller.slug}.atom"'
    assert seller_feed in html
    assert seller_feed in client.get(product.seller.get_absolute_url()).content.decode()


def test_oembed_answers_rich_json_for_a_product(client):
    product = album()
    url = "http://testserver" + product.get_absolute_url()
    html = client.get(product.get_absolute_url()).content.decode()
    assert 'type="application/json+oembed"' in html
    data = client.get("/oembed", {"url": url, "format": "json", "maxwidth": "400"}).json()
    assert data["type"] == "rich" and data["version"] == "1.0"
    assert data["title"] == "Night Trains"
    assert data["author_name"] == product.seller.display_name
    assert data["width"] == 400
    assert f'src="http://testserver/embed/@{product.seller.slug}/{product.slug}/"' in data["html"]
    assert data["thumbnail_url"].startswith("http://testserver/media/covers/")


@pytest.mark.parametrize(
    "query, status",
    [
        ({"url": "http://testserver/@nobody/nothing/"}, 404),
        ({"url": "http://elsewhere.example/@a/b/"}, 404),
        ({"url": "http://testserver/sell/"}, 404),
        ({"url": ""}, 404),
        ({"url": "x" * 10_000}, 404),
        ({"url": "http://testserver/@a/b/", "format": "xml"}, 501),
    ],
)
def test_oembed_refuses_what_it_cannot_embed(client, query, status):
    response = client.get("/oembed", query)
    assert response.status_code == status
    assert response.json()["error"]


def test_oembed_of_a_draft_is_404(client):
    draft = ProductFactory(status=Product.Status.DRAFT)
    response = client.get("/oembed", {"url": "http://testserver" + draft.get_absolute_url()})
    assert response.status_code == 404


def test_tag_head_links_the_tag_feed(rf):
    from django.template import Context, Template

    request = rf.get("/")
    html = Template("{% load seo_tags %}{% tag_head 'ambient' %}").render(
        Context({"request": request})
    )
    assert 'href="http://testserver/feeds/tags/ambient.atom"' in html
    assert '"BreadcrumbList"' in html


def test_feeds_embed_and_oembed_read_in_a_few_queries_whatever_the_catalog(client, settings):
    settings.FEED_CACHE_SECONDS = 0  # how building them scales, not the kept copies

    def counts():
        first = Product.objects.order_by("id").first()
        urls = [
            "/feeds/shop.atom",
            f"/feeds/@{first.seller.slug}.atom",
            "/feeds/tags/ambient.atom",
            f"/embed/@{first.seller.slug}/{first.slug}/",
            "/oembed?url=http://testserver" + first.get_absolute_url(),
        ]
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    for _ in range(2):
        _tagged(album(), "ambient")
    few = counts()
    for _ in range(12):
        _tagged(ProductFactory(), "ambient", "more")
    assert counts() == few
    assert max(few) <= 6


def test_sitemaps_and_feeds_are_built_once_per_window(client, settings):
    """Kept in the shared cache: the second fetch runs no query and serves the same
    document; with the window off, a new product shows at once."""
    _tagged(album(), "ambient")
    for url in ("/sitemap.xml", "/sitemap-products.xml", "/feeds/shop.atom",
                "/feeds/tags/ambient.atom"):  # fmt: skip
        first = client.get(url)
        with CaptureQueriesContext(connection) as queries:
            again = client.get(url)
        assert again.status_code == 200 and again.content == first.content, url
        assert len(queries) == 0, url
    newer = ProductFactory(title="Brand New Record")
    assert newer.slug not in client.get("/sitemap-products.xml").content.decode()
    settings.SITEMAP_CACHE_SECONDS = settings.FEED_CACHE_SECONDS = 0
    assert newer.slug in client.get("/sitemap-products.xml").content.decode()
    assert "Brand New Record" in client.get("/feeds/shop.atom").content.decode()


def test_a_feed_is_sent_in_one_piece(client):
    """One write for the server, not one per element (decision 97)."""
    ProductFactory.create_batch(5)
    for _ in range(2):  # built, then from the cache
        response = client.get("/feeds/shop.atom")
        assert response.status_code == 200 and len(list(response)) == 1
