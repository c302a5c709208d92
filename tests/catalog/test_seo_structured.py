"""JSON-LD, OpenGraph and Twitter cards, read back with a real extractor (extruct)."""

from __future__ import annotations

import extruct
import pytest

from catalog.models import Asset, Product
from catalog.seo.structured import iso_duration, json_ld_script
from tests.catalog.seo_helpers import album, with_cover
from tests.factories import ProductFactory, SellerFactory, add_file, demo_media, pdf_bytes

pytestmark = pytest.mark.django_db


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response, extruct.extract(
        response.content.decode(),
        base_url="http://testserver" + url,
        syntaxes=["json-ld", "opengraph"],
        uniform=True,
    )


def _of_type(data, kind):
    return [item for item in data["json-ld"] if kind in str(item.get("@type"))]


def _og(data):
    found = {}
    for block in data["opengraph"]:
        found.update({k: v for k, v in block.items() if not k.startswith("@")})
    return found


def test_iso_durations():
    assert iso_duration(187.4) == "PT3M7S"
    assert iso_duration(3725) == "PT1H2M5S"
    assert iso_duration(0) == "PT0S"
    assert iso_duration(60) == "PT1M"
    assert iso_duration(None) is None
    assert iso_duration("nonsense") is None
    assert iso_duration(-3) is None


def test_json_ld_cannot_close_its_script_block():
    block = json_ld_script({"name": "</script><script>alert(1)</script> & <!--"})
    body = block.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in body and ">" not in body and "&" not in body
    import json

    assert json.loads(body)["name"] == "</script><script>alert(1)</script> & <!--"


def test_music_product_is_a_product_with_an_offer_and_an_album_with_timed_tracks(client):
    product = album(description="A **night** on the [rails](https://example.com).")
    _, data = _page(client, product.get_absolute_url())
    (item,) = _of_type(data, "Product")
    assert item["name"] == "Night Trains"
    assert item["description"] == "A night on the rails."
    assert item["url"] == "http://testserver" + product.get_absolute_url()
    assert item["image"].startswith("http://testserver/media/covers/")
    offer = item["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "7.00"
    assert offer["priceCurrency"] == "EUR"
    assert offer["availability"] == "https://schema.org/InStock"
    (work,) = _of_type(data, "MusicAlbum")
    assert work["numTracks"] == 2
    assert [t["name"] for t in work["track"]] == ["Departure", "Tunnel"]
    assert [t["duration"] for t in work["track"]] == ["PT3M7S", "PT1H2M5S"]
    assert work["byArtist"]["name"] == product.seller.display_name
    (crumbs,) = _of_type(data, "BreadcrumbList")
    assert [e["name"] for e in crumbs["itemListElement"]] == [
        "Home",
        product.seller.display_name,
        "Night Trains",
    ]
    assert crumbs["itemListElement"][2]["item"] == item["url"]


def test_pay_what_you_want_and_free_offers(client):
    pwyw = ProductFactory(pricing=Product.Pricing.PWYW, price=300, suggested_price=600)
    free = ProductFactory(pricing=Product.Pricing.FREE, price=0)
    (item,) = _of_type(_page(client, pwyw.get_absolute_url())[1], "Product")
    assert item["offers"]["price"] == "3.00"
    assert item["offers"]["priceSpecification"]["minPrice"] == "3.00"
    (item,) = _of_type(_page(client, free.get_absolute_url())[1], "Product")
    assert item["offers"]["price"] == "0.00"


def test_ebook_is_a_book_with_its_pages(client):
    product = ProductFactory(kind=Product.Kind.EBOOK)
    asset = add_file(product, pdf_bytes(pages=3), "book.pdf")
    asset.metadata = {"pages": 212}
    asset.save()
    (book,) = _of_type(_page(client, product.get_absolute_url())[1], "Book")
    assert book["numberOfPages"] == 212
    assert book["bookFormat"] == "https://schema.org/EBook"
    assert book["author"]["name"] == product.seller.display_name


def test_video_is_a_video_object_with_duration_thumbnail_and_embed(client):
    product = with_cover(ProductFactory(kind=Product.Kind.VIDEO, title="Harbour"))
    film = add_file(product, demo_media("video-harbour.mp4"), "film.mp4")
    film.metadata = {"duration_seconds": 5.0, "width": 320, "height": 180}
    film.save()
    add_file(product, demo_media("video-harbour.mp4"), "trailer.mp4", role=Asset.Role.PREVIEW)
    _, data = _page(client, product.get_absolute_url())
    (video,) = _of_type(data, "VideoObject")
    assert video["duration"] == "PT5S"
    assert video["thumbnailUrl"].startswith("http://testserver/media/")
    assert video["uploadDate"]
    assert video["embedUrl"].endswith(f"/embed/@{product.seller.slug}/{product.slug}/")
    assert video["contentUrl"].startswith("http://testserver/media/previews/")
    og = _og(data)
    assert og["og:video"] == video["contentUrl"]
    assert og["og:video:type"] == "video/mp4"


def test_seller_page_is_a_person_with_breadcrumbs(client):
    seller = SellerFactory(
        display_name="Les Ondes", bio="Gentle *music*.", links=["https://ondes.example"]
    )
    _, data = _page(client, seller.get_absolute_url())
    (person,) = _of_type(data, "Person")
    assert person["name"] == "Les Ondes"
    assert person["description"] == "Gentle music."
    assert person["sameAs"] == ["https://ondes.example"]
    (crumbs,) = _of_type(data, "BreadcrumbList")
    assert len(crumbs["itemListElement"]) == 2


def test_opengraph_and_twitter_card_of_a_product(client):
    product = album(description="# Heading\n\nPlain **words** only.")
    response, data = _page(client, product.get_absolute_url())
    og = _og(data)
    assert og["og:title"] == f"Night Trains by {product.seller.display_name}"
    assert og["og:description"] == "Heading Plain words only."
    assert og["og:url"] == "http://testserver" + product.get_absolute_url()
    assert og["og:image"].startswith("http://testserver/media/covers/")
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "800")
    assert og["product:price:amount"] == "7.00"
    assert og["product:price:currency"] == "EUR"
    assert og["og:audio"].startswith("http://testserver/media/previews/")
    assert og["og:audio:type"] == "audio/mpeg"
    html = response.content.decode()
    assert '<meta name="description" content="Heading Plain words only.">' in html
    assert '<meta name="twitter:card" content="player">' in html
    assert f'content="http://testserver/embed/@{product.seller.slug}/{product.slug}/"' in html


def test_hostile_text_stays_data(client):
    product = ProductFactory(title='</script><script>alert("x")</script>', description="<b>&</b>")
    response, data = _page(client, product.get_absolute_url())
    html = response.content.decode()
    assert '<script>alert("x")' not in html
    (item,) = _of_type(data, "Product")
    assert item["name"] == '</script><script>alert("x")</script>'


def test_canonical_link_is_absolute_and_drops_tracking(client):
    product = ProductFactory()
    html = client.get(product.get_absolute_url() + "?utm_source=x&ref=y").content.decode()
    assert f'<link rel="canonical" href="http://testserver{product.get_absolute_url()}">' in html
    home = client.get("/?page=1").content.decode()
    assert '<link rel="canonical" href="http://testserver/">' in home


def test_canonical_uses_site_url_when_the_operator_set_it(client, settings):
    settings.SITE_URL = "https://shop.example"
    settings.SITE_URL_EXPLICIT = True
    product = ProductFactory()
    html = client.get(product.get_absolute_url()).content.decode()
    assert f'<link rel="canonical" href="https://shop.example{product.get_absolute_url()}">' in html


def test_unlisted_product_says_noindex(client):
    unlisted = ProductFactory(status=Product.Status.UNLISTED)
    listed = ProductFactory()
    assert (
        '<meta name="robots" content="noindex">'
        in client.get(unlisted.get_absolute_url()).content.decode()
    )
    assert "noindex" not in client.get(listed.get_absolute_url()).content.decode()


def test_json_ld_passes_the_content_security_policy(client):
    # A data block is never executed: the policy needs no 'unsafe-inline' for it.
    product = ProductFactory()
    response = client.get(product.get_absolute_url())
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert b'<script type="application/ld+json">' in response.content


def test_a_seller_who_is_a_group_is_an_organization(client):
    seller = SellerFactory(display_name="Les Ondes Douces")
    client.force_login(seller.user)
    response = client.post(
        "/sell/profile/",
        {
            "display_name": seller.display_name,
            "slug": seller.slug,
            "currency": "EUR",
            "timezone": "UTC",
            "is_organization": "on",
        },
    )
    assert response.status_code == 302
    seller.refresh_from_db()
    assert seller.is_organization
    _, data = _page(client, seller.get_absolute_url())
    assert not _of_type(data, "Person")
    (group,) = _of_type(data, "Organization")
    assert group["name"] == "Les Ondes Douces"
    product = ProductFactory(seller=seller)
    (item,) = _of_type(_page(client, product.get_absolute_url())[1], "Product")
    assert item["offers"]["seller"]["@type"] == "Organization"
