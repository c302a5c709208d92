import pytest

from catalog.models import Product
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_published_products_only(client):
    ProductFactory(title="Published One")
    for status in (Product.Status.DRAFT, Product.Status.UNLISTED, Product.Status.ARCHIVED):
        ProductFactory(title=f"Hidden {status}", status=status)
    html = client.get("/").content.decode()
    assert "Published One" in html
    assert "Hidden" not in html


def test_the_product_page_shows_cover_title_seller_and_price(client, product):
    from django.core.files.base import ContentFile

    product.cover.save("cover.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    html = client.get(product.get_absolute_url()).content.decode()
    assert product.title in html
    assert product.seller.display_name in html
    assert "€12.50" in html
    assert product.cover.url in html
    assert f'alt="Cover of {product.title}"' in html


def test_the_seller_page_lists_their_published_products(client):
    seller = SellerFactory(display_name="Zoé", bio="I make *things*.")
    ProductFactory(seller=seller, title="Mine")
    ProductFactory(seller=seller, title="Draft of mine", status=Product.Status.DRAFT)
    ProductFactory(title="Someone else's")
    html = client.get(seller.get_absolute_url()).content.decode()
    assert "Mine" in html and "<em>things</em>" in html
    assert "Draft of mine" not in html and "Someone else" not in html


@pytest.mark.parametrize("path", ["/@nobody/", "/@nobody/nothing/", "/no/such/page/"])
def test_unknown_addresses_are_404_pages(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_the_description_is_sanitised_on_the_page(client, db):
    product = ProductFactory(description="Hi <script>alert(1)</script>")
    html = client.get(product.get_absolute_url()).content.decode()
    assert "<script>alert" not in html
