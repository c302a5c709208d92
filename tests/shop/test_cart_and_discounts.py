"""The cart (several sellers, one currency) and sellers' discount codes, priced on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from delivery.models import Entitlement
from shop.models import DiscountCode, Order
from tests.factories import ProductFactory, SellerFactory, UserFactory, add_file
from tests.helpers import KEY, pay

pytestmark = pytest.mark.django_db


def _add(client, product, amount=None):
    data = {"amount": amount} if amount is not None else {}
    return client.post(f"/cart/add/{product.pk}/", data)


def _checkout(client, email="fan@example.com", code="", key=KEY):
    return client.post("/cart/", {"email": email, "code": code, "checkout_key": key})


@pytest.fixture
def two_sellers(db):
    book = ProductFactory(title="Book", price=1000)
    album = ProductFactory(title="Album", price=800, seller=SellerFactory())
    tip = ProductFactory(title="Zine", pricing=Product.Pricing.PWYW, price=200)
    for product in (book, album, tip):
        add_file(product)
    return book, album, tip


def test_a_cart_holds_several_sellers_and_becomes_one_order(client, two_sellers):
    book, album, tip = two_sellers
    _add(client, book)
    _add(client, album)
    _add(client, tip, "3,50")
    page = client.get("/cart/").content.decode()
    assert "Book" in page and "Album" in page and "Zine" in page
    assert "Pay €21.50" in page
    response = _checkout(client)
    order = Order.objects.get()
    assert response.status_code == 302
    assert order.total == 2150 and order.items.count() == 3
    assert {i.seller_id for i in order.items.all()} == {
        book.seller_id,
        album.seller_id,
        tip.seller_id,
    }
    pay(client, order)
    assert Entitlement.objects.filter(status="active").count() == 3
    assert "Your cart is empty" in client.get("/cart/").content.decode()


def test_the_cart_survives_logging_in(client, two_sellers):
    book, *_ = two_sellers
    _add(client, book)
    user = UserFactory()
    client.force_login(user)
    assert "Book" in client.get("/cart/").content.decode()


def test_pay_what_you_want_below_the_minimum_never_reaches_the_cart(client, two_sellers):
    *_, tip = two_sellers
    response = _add(client, tip, "1")
    assert response.status_code == 400
    assert "minimum price" in response.content.decode()
    assert "Your cart is empty" in client.get("/cart/").content.decode()


def test_an_unpublished_product_is_dropped_from_the_cart_with_a_notice(client, two_sellers):
    book, album, _ = two_sellers
    _add(client, book)
    _add(client, album)
    Product.objects.filter(pk=album.pk).update(status=Product.Status.DRAFT)
    page = client.get("/cart/").content.decode()
    assert "“Album” is no longer on sale" in page
    _checkout(client)
    assert Order.objects.get().items.count() == 1


def test_a_cart_in_another_currency_is_refused(client, db, settings):
    product = ProductFactory(currency="USD", price=500)
    _add(client, product)
    response = _checkout(client)
    assert response.status_code == 400
    assert "priced in USD" in response.content.decode()
    assert not Order.objects.exists()


def test_an_empty_cart_cannot_be_checked_out(client, db):
    response = _checkout(client)
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_a_percentage_code_discounts_only_its_sellers_scoped_products(client, two_sellers):
    book, album, tip = two_sellers
    code = DiscountCode.objects.create(
        seller=book.seller, code="SPRING", kind="percent", value=2500
    )
    _add(client, book)
    _add(client, album)
    _add(client, tip, "4")
    _checkout(client, code="spring")
    order = Order.objects.get()
    by_title = {i.title: i for i in order.items.all()}
    assert by_title["Book"].discount_amount == 250 and by_title["Book"].unit_price == 750
    assert by_title["Album"].discount_amount == 0  # another seller's product
    assert by_title["Zine"].discount_amount == 0  # a chosen price is never discounted
    assert order.discount_total == 250 and order.total == 750 + 800 + 400
    code.refresh_from_db()
    assert code.used_count == 1


def test_a_fixed_code_never_makes_a_price_negative(client, db):
    product = ProductFactory(price=300)
    add_file(product)
    DiscountCode.objects.create(seller=product.seller, code="BIG", kind="fixed", value=5000)
    _add(client, product)
    _checkout(client, code="BIG")
    order = Order.objects.get()
    assert order.total == 0 and order.status == Order.Status.PAID  # free after the code


def test_a_code_scoped_to_other_products_does_not_apply(client, two_sellers):
    book, *_ = two_sellers
    other = ProductFactory(seller=book.seller)
    code = DiscountCode.objects.create(
        seller=book.seller, code="ONLYOTHER", kind="percent", value=5000
    )
    code.products.add(other)
    _add(client, book)
    response = _checkout(client, code="ONLYOTHER")
    assert response.status_code == 400
    assert "does not apply" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "has expired"),
        ({"max_uses": 2, "used_count": 2}, "used up"),
        ({"active": False}, "used up"),
    ],
)
def test_an_expired_or_exhausted_code_is_refused(client, two_sellers, changes, message):
    book, *_ = two_sellers
    DiscountCode.objects.create(
        seller=book.seller, code="X1", kind="percent", value=1000, **changes
    )
    _add(client, book)
    response = _checkout(client, code="X1")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_an_unknown_code_is_refused(client, two_sellers):
    book, *_ = two_sellers
    _add(client, book)
    response = _checkout(client, code="NOPE")
    assert response.status_code == 400 and "not a discount code" in response.content.decode()


def test_the_last_use_of_a_code_goes_to_one_order_only(client, two_sellers):
    book, *_ = two_sellers
    DiscountCode.objects.create(
        seller=book.seller, code="LAST", kind="percent", value=1000, max_uses=1
    )
    _add(client, book)
    assert _checkout(client, code="LAST", key="a" * 24).status_code == 302
    _add(client, book)
    second = _checkout(client, code="LAST", key="b" * 24)
    assert second.status_code == 400 and "used up" in second.content.decode()
    assert Order.objects.count() == 1


def test_a_failed_payment_gives_the_code_back(client, two_sellers):
    book, *_ = two_sellers
    code = DiscountCode.objects.create(
        seller=book.seller, code="BACK", kind="percent", value=1000, max_uses=1
    )
    _add(client, book)
    _checkout(client, code="BACK")
    pay(client, Order.objects.get(), outcome="decline")
    code.refresh_from_db()
    assert code.used_count == 0


def test_a_code_on_the_product_page_buys_at_the_discounted_price(client, db):
    product = ProductFactory(price=1000)
    add_file(product)
    DiscountCode.objects.create(seller=product.seller, code="TEN", kind="fixed", value=100)
    client.post(
        f"/checkout/{product.pk}/", {"email": "fan@example.com", "code": "TEN", "checkout_key": KEY}
    )
    assert Order.objects.get().total == 900


def test_a_bad_code_on_the_product_page_reopens_the_field_with_the_message(client, db):
    product = ProductFactory(price=1000)
    response = client.post(
        f"/checkout/{product.pk}/",
        {"email": "fan@example.com", "code": "NOPE", "checkout_key": KEY},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="code-error"' in html and '<details class="code-field" open' in html


def test_a_seller_creates_pauses_and_resumes_a_code(client, db):
    seller = SellerFactory()
    mine = ProductFactory(seller=seller, title="Mine")
    client.force_login(seller.user)
    response = client.post(
        "/sell/codes/",
        {
            "code": "HALF",
            "kind": "percent",
            "value": "50",
            "products": [str(mine.pk)],
            "max_uses": "10",
        },
    )
    assert response.status_code == 302
    code = DiscountCode.objects.get(seller=seller)
    assert (code.code, code.value, code.max_uses) == ("HALF", 5000, 10)
    assert list(code.products.all()) == [mine]
    client.post(f"/sell/codes/{code.pk}/active/", {"active": "0"})
    code.refresh_from_db()
    assert not code.active
    assert "Resume" in client.get("/sell/codes/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "a", "value": "10"}, "3 to 40 letters"),
        ({"code": "OK1", "value": "150"}, "up to 100"),
        ({"code": "OK1", "value": "0"}, "more than zero"),
        ({"code": "OK1", "value": "10", "expires": "2001-01-01"}, "in the past"),
        ({"code": "OK1", "value": "10", "expires": "soon"}, "YYYY-MM-DD"),
        ({"code": "OK1", "value": "10", "max_uses": "many"}, "whole number"),
    ],
)
def test_a_bad_code_form_says_what_is_wrong(client, db, data, message):
    seller = SellerFactory()
    client.force_login(seller.user)
    response = client.post("/sell/codes/", {"kind": "percent", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DiscountCode.objects.exists()


def test_a_code_cannot_target_another_sellers_product_or_be_toggled_by_them(client, db):
    seller, other = SellerFactory(), SellerFactory()
    theirs = ProductFactory(seller=other)
    client.force_login(seller.user)
    response = client.post(
        "/sell/codes/",
        {"code": "STEAL", "kind": "fixed", "value": "1", "products": [str(theirs.pk)]},
    )
    assert response.status_code == 400 and "your own shop" in response.content.decode()
    code = DiscountCode.objects.create(seller=other, code="THEIRS", kind="percent", value=100)
    assert client.post(f"/sell/codes/{code.pk}/active/", {"active": "0"}).status_code == 404
    code.refresh_from_db()
    assert code.active
