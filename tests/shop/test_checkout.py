"""Bad input at checkout: a clear answer, the right status, nothing half-written."""

from __future__ import annotations

import pytest

from catalog.models import Product
from shop.models import Order, OrderItem
from tests.factories import ProductFactory
from tests.helpers import KEY, pay, start_checkout

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter a valid email"),
        ("not-an-email", "Enter a valid email"),
        ("a@b", "Enter a valid"),
    ],
)
def test_a_bad_email_re_shows_the_form_with_the_message(client, product, email, message):
    response = start_checkout(client, product, email=email)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'aria-invalid="true"' in html
    assert f'value="{email}"' in html
    assert not Order.objects.exists()


def test_an_unknown_product_is_404(client, db):
    response = client.post("/checkout/999999/", {"email": "a@example.com", "checkout_key": KEY})
    assert response.status_code == 404


@pytest.mark.parametrize("status", [Product.Status.DRAFT, Product.Status.ARCHIVED])
def test_a_product_not_on_sale_cannot_be_opened_or_bought(client, db, status):
    product = ProductFactory(status=status)
    assert client.get(product.get_absolute_url()).status_code == 404
    assert start_checkout(client, product).status_code == 404
    assert not Order.objects.exists()


def test_an_unlisted_product_opens_by_address_but_is_not_listed(client, db):
    product = ProductFactory(status=Product.Status.UNLISTED, title="Secret Album")
    assert client.get(product.get_absolute_url()).status_code == 200
    assert "Secret Album" not in client.get("/").content.decode()


def test_the_price_comes_from_the_server_not_the_form(client, product):
    start_checkout(client, product, amount="0.01", price="1", total="1")
    order = Order.objects.get()
    assert order.total == 1250
    assert OrderItem.objects.get().unit_price == 1250


def test_pay_what_you_want_below_the_minimum_is_refused(client, db):
    product = ProductFactory(pricing=Product.Pricing.PWYW, price=500, suggested_price=800)
    page = client.get(product.get_absolute_url()).content.decode()
    assert 'value="8.00"' in page  # the suggestion is pre-filled
    response = start_checkout(client, product, amount="4.99")
    assert response.status_code == 400
    assert "is €5.00." in response.content.decode() and "minimum price" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("typed", ["abc", "-3", "1.234", "NaN", "1e400"])
def test_pay_what_you_want_rejects_amounts_that_are_not_prices(client, db, typed):
    product = ProductFactory(pricing=Product.Pricing.PWYW, price=0)
    response = start_checkout(client, product, amount=typed)
    assert response.status_code == 400
    assert 'id="amount-error"' in response.content.decode()
    assert not Order.objects.exists()


def test_pay_what_you_want_charges_what_the_buyer_typed(client, db):
    product = ProductFactory(pricing=Product.Pricing.PWYW, price=500)
    start_checkout(client, product, amount="12,50")
    assert Order.objects.get().total == 1250


def test_a_double_clicked_pay_button_makes_one_order(client, product):
    first = start_checkout(client, product)
    second = start_checkout(client, product)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1


def test_a_replayed_form_after_payment_is_409_and_charges_nothing_more(client, product):
    start_checkout(client, product)
    pay(client, Order.objects.get())
    replay = start_checkout(client, product)
    assert replay.status_code == 409
    assert "already placed" in replay.content.decode()
    assert Order.objects.count() == 1


def test_a_missing_or_forged_checkout_key_asks_for_a_reload(client, product):
    response = start_checkout(client, product, key="<script>")
    assert response.status_code == 400
    assert "reload the page" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("path", ["/orders/{u}/", "/pay/test/{u}/"])
def test_an_unknown_order_is_404(client, db, path):
    assert client.get(path.format(u="6f1c2a8e-4c1b-4b8a-9a52-8f2a3a1d2c3b")).status_code == 404


def test_a_malformed_order_id_is_404(client, db):
    assert client.get("/orders/not-a-uuid/").status_code == 404


def test_a_paid_order_cannot_be_declined_afterwards(client, product):
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    response = pay(client, order, outcome="decline")
    order.refresh_from_db()
    assert response.status_code == 409
    assert order.status == Order.Status.PAID


def test_test_payments_are_refused_when_not_enabled(client, product, settings):
    settings.TEST_PAYMENTS_ENABLED = False
    response = start_checkout(client, product)
    assert response.status_code == 503
    assert "TEST_PAYMENTS_ENABLED" in response.content.decode()
    assert not Order.objects.exists()
    assert "Test mode" not in client.get("/").content.decode()


def test_every_page_says_so_while_test_mode_is_on(client, product):
    for path in ("/", product.get_absolute_url(), "/library/lost/"):
        assert "Test mode: no real payments" in client.get(path).content.decode()


def test_the_platform_fee_is_computed_on_the_server(client, product, settings):
    settings.PLATFORM_FEE_BASIS_POINTS = 1000
    settings.PLATFORM_FEE_FIXED = 30
    start_checkout(client, product)
    order = Order.objects.get()
    assert order.platform_fee == 1250 // 10 + 30
    assert order.items.get().platform_fee == order.platform_fee


def test_the_order_carries_where_the_buyer_came_from(client, product):
    page = client.get(
        product.get_absolute_url() + "?utm_source=Newsletter&utm_campaign=spring<b>",
        HTTP_REFERER="https://www.example.org/post/1",
    ).content.decode()
    assert 'name="ref" value="example.org"' in page
    assert 'name="utm_campaign" value="springb"' in page
    start_checkout(
        client, product, ref="example.org", utm_source="newsletter", utm_campaign="springb"
    )
    order = Order.objects.get()
    assert (order.referrer_host, order.utm_source, order.utm_campaign) == (
        "example.org",
        "newsletter",
        "springb",
    )


def test_an_internal_referrer_is_not_a_source(client, product):
    page = client.get(
        product.get_absolute_url(), HTTP_REFERER="http://testserver/"
    ).content.decode()
    assert 'name="ref" value=""' in page


def test_the_cart_keeps_the_first_source(client, product):
    client.post(f"/cart/add/{product.pk}/", {"ref": "blog.example", "utm_source": "blog"})
    other = ProductFactory()
    client.post(f"/cart/add/{other.pk}/", {"ref": "elsewhere.example"})
    client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    order = Order.objects.get()
    assert (order.referrer_host, order.utm_source) == ("blog.example", "blog")
