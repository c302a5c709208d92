"""After a declined or expired payment: "Try again" is a new order of the same items."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import Product
from shop.models import DiscountCode, Order
from shop.services import order_expire
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import KEY, pay, start_checkout

pytestmark = pytest.mark.django_db


def _declined(client, product, **extra) -> Order:
    start_checkout(client, product, **extra)
    order = Order.objects.get()
    pay(client, order, outcome="decline")
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    return order


def _retry_form(client, order) -> tuple[str, str]:
    html = client.get(order.get_absolute_url()).content.decode()
    action = re.search(r'<form method="post" action="([^"]+/retry/)"', html)
    key = re.search(r'name="checkout_key" value="([^"]+)"', html)
    assert action and key, "the receipt offers no Try again"
    assert "Try again" in html
    return action.group(1), key.group(1)


def test_try_again_after_a_decline_starts_a_new_order_of_the_same_items(client):
    product = ProductFactory(title="Field Notes", price=1250)
    add_file(product)
    failed = _declined(client, product, email="fan@example.com")
    action, key = _retry_form(client, failed)

    response = client.post(action, {"checkout_key": key})
    again = Order.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("shop:test_pay", kwargs={"order": again.public_id})
    assert again.status == Order.Status.PENDING
    assert again.buyer_email == "fan@example.com" and again.total == 1250
    assert list(again.items.values_list("product_id", "unit_price")) == [(product.pk, 1250)]
    failed.refresh_from_db()
    assert failed.status == Order.Status.FAILED  # the failed order is never reused
    pay(client, again)
    again.refresh_from_db()
    assert again.status == Order.Status.PAID
    assert again.items.get().entitlement.is_active


def test_try_again_keeps_the_amount_typed_for_pay_what_you_want(client):
    product = ProductFactory(pricing=Product.Pricing.PWYW, price=300)
    add_file(product)
    failed = _declined(client, product, amount="7,50")
    action, key = _retry_form(client, failed)
    client.post(action, {"checkout_key": key})
    assert Order.objects.exclude(pk=failed.pk).get().total == 750


def test_try_again_twice_with_one_form_makes_one_new_order(client):
    product = ProductFactory()
    add_file(product)
    failed = _declined(client, product)
    action, key = _retry_form(client, failed)
    first = client.post(action, {"checkout_key": key})
    second = client.post(action, {"checkout_key": key})
    assert Order.objects.count() == 2
    assert first["Location"] == second["Location"]


def test_try_again_reapplies_the_code_and_counts_its_use(client):
    product = ProductFactory(price=1000)
    add_file(product)
    code = DiscountCode.objects.create(
        seller=product.seller, code="TEN", kind="fixed", value=100, max_uses=1
    )
    failed = _declined(client, product, code="TEN")
    action, key = _retry_form(client, failed)
    client.post(action, {"checkout_key": key})
    assert Order.objects.exclude(pk=failed.pk).get().total == 900
    code.refresh_from_db()
    assert code.used_count == 1


def test_a_product_taken_off_sale_since_says_so_and_orders_nothing(client):
    product = ProductFactory(title="Gone Book")
    add_file(product)
    failed = _declined(client, product)
    action, key = _retry_form(client, failed)
    Product.objects.filter(pk=product.pk).update(status=Product.Status.ARCHIVED)
    response = client.post(action, {"checkout_key": key}, follow=True)
    assert Order.objects.count() == 1
    assert "“Gone Book” is no longer on sale" in response.content.decode()


def test_an_expired_checkout_offers_try_again_too(client):
    product = ProductFactory()
    add_file(product)
    start_checkout(client, product)
    order = order_expire(order_id=Order.objects.get().pk)
    assert "Checkout expired" in client.get(order.get_absolute_url()).content.decode()
    action, key = _retry_form(client, order)
    client.post(action, {"checkout_key": key})
    assert Order.objects.filter(status=Order.Status.PENDING).count() == 1


@pytest.mark.parametrize("outcome", ["pay", None])
def test_a_paid_or_pending_order_has_no_try_again_and_refuses_one(client, outcome):
    product = ProductFactory()
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    if outcome:
        pay(client, order, outcome=outcome)
    html = client.get(order.get_absolute_url()).content.decode()
    assert "Try again" not in html
    response = client.post(
        reverse("shop:order_retry", kwargs={"order": order.public_id}),
        {"checkout_key": "r" * 24},
        follow=True,
    )
    assert Order.objects.count() == 1
    assert "there is nothing to try again" in response.content.decode()


def test_the_test_payment_page_leads_back_to_the_product_to_change_the_amount(client):
    product = ProductFactory(title="Tip Jar", pricing=Product.Pricing.PWYW, price=100)
    add_file(product)
    page = client.get(start_checkout(client, product, amount="3")["Location"])
    html = page.content.decode()
    assert f'href="{product.get_absolute_url()}">← Back to “Tip Jar”' in html


def test_the_test_payment_page_of_a_cart_leads_to_each_product_and_the_shop(client):
    book = ProductFactory(title="Book")
    album = ProductFactory(title="Album", seller=SellerFactory())
    for product in (book, album):
        add_file(product)
        client.post(f"/cart/add/{product.pk}/")
    response = client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    html = client.get(response["Location"]).content.decode()
    for product in (book, album):
        assert f'href="{product.get_absolute_url()}"' in html
    assert "← Back to the shop" in html
