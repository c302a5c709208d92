"""Checkout through the one limiter: discount codes guessed per client (product page and
cart alike), and free orders whose receipts would let anyone mail-bomb any address."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from catalog.models import Product
from shop.models import DiscountCode, Order
from tests.factories import ProductFactory, add_file
from tests.helpers import emails_to, start_checkout

pytestmark = pytest.mark.django_db


def _key(n: int) -> str:
    return f"limits-key-{n:08d}"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def free_product(db) -> Product:
    product = ProductFactory(title="Free Zine", pricing=Product.Pricing.FREE, price=0)
    add_file(product)
    return product


@override_settings(LIMIT_DISCOUNT_CODE=(5, 3600))
def test_guessing_codes_on_the_product_page_is_limited_per_client(product, limit_clock):
    client = Client(REMOTE_ADDR="203.0.113.30")
    guesses = [start_checkout(client, product, key=_key(n), code=f"GUESS{n}") for n in range(5)]
    assert {r.status_code for r in guesses} == {400}
    assert "is not a discount code" in guesses[0].content.decode()
    DiscountCode.objects.create(seller=product.seller, code="RIGHT", kind="percent", value=1000)
    refused = start_checkout(client, product, key=_key(9), code="RIGHT", email="me@example.com")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Too many discount codes tried from here" in page
    assert 'value="me@example.com"' in page and 'value="RIGHT"' in page
    assert not Order.objects.exists()
    # Another client is not affected, and no code typed means no code counted.
    assert start_checkout(Client(), product, key=_key(10), code="RIGHT").status_code == 302
    assert start_checkout(client, product, key=_key(11)).status_code == 302


@override_settings(LIMIT_DISCOUNT_CODE=(4, 3600))
def test_the_cart_and_the_product_page_share_one_count_of_codes(product, limit_clock):
    client = Client()
    for n in range(2):
        start_checkout(client, product, key=_key(n), code=f"NOPE{n}")
    client.post(reverse("shop:cart_add", args=[product.pk]))
    answers = [
        client.post(
            "/cart/", {"email": "fan@example.com", "code": f"CART{n}", "checkout_key": _key(5 + n)}
        )
        for n in range(3)
    ]
    assert [r.status_code for r in answers] == [400, 400, 429]
    assert answers[2]["Retry-After"] == "3600"
    page = answers[2].content.decode()
    assert "Too many discount codes tried from here" in page and "Field Notes" in page
    assert 'value="CART2"' in page
    assert not Order.objects.exists()
    limit_clock.advance(3600)
    again = client.post(
        "/cart/", {"email": "fan@example.com", "code": "X1", "checkout_key": _key(20)}
    )
    assert again.status_code == 400


@override_settings(LIMIT_MAIL_RECIPIENT=(3, 3600))
def test_free_orders_cannot_mail_bomb_someone_elses_address(free_product, commit, limit_clock):
    statuses = []
    for n in range(5):
        client = Client(REMOTE_ADDR=f"10.3.0.{n}")
        with commit():
            statuses.append(
                start_checkout(
                    client, free_product, key=_key(n), email="victim@example.com"
                ).status_code
            )
    assert statuses == [302, 302, 302, 429, 429]
    assert len(emails_to("victim@example.com")) == 3
    assert Order.objects.count() == 3


@override_settings(LIMIT_MAIL_SENDER=(2, 3600))
def test_one_client_gets_few_free_receipts_sent_to_anyone(free_product, commit, limit_clock):
    client = Client(REMOTE_ADDR="203.0.113.40")
    with commit():
        answers = [
            start_checkout(client, free_product, key=_key(n), email=f"p{n}@example.com")
            for n in range(3)
        ]
    assert [r.status_code for r in answers] == [302, 302, 429]
    page = answers[2].content.decode()
    assert "Too many emails have been asked for" in page and 'value="p2@example.com"' in page
    assert not emails_to("p2@example.com")
    assert Order.objects.count() == 2


@override_settings(LIMIT_MAIL_RECIPIENT=(1, 3600))
def test_a_paid_order_is_not_counted_as_a_mail_a_visitor_triggers(product, limit_clock):
    client = Client()
    answers = [start_checkout(client, product, key=_key(n)) for n in range(3)]
    assert [r.status_code for r in answers] == [302, 302, 302]
    assert len(mail.outbox) == 0
