"""A seller's commerce pages in Chromium: sales, a refund, discount codes, payouts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from shop.models import DiscountCode, Order
from shop.services import OrderLine, checkout_key_new, order_create, order_fulfil
from tests.factories import ProductFactory, SellerFactory, add_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_seller_refunds_a_sale_and_creates_a_code(page, live_server, shot):
    seller = SellerFactory(display_name="Les Ondes Douces")
    product = ProductFactory(seller=seller, title="Night Trains", price=700)
    add_file(product)
    for n in range(3):
        order = order_create(
            lines=[OrderLine(product)],
            email=f"fan{n}@example.com",
            checkout_key=checkout_key_new(),
            provider="test",
        )
        order_fulfil(order_id=order.pk, payment_id=f"test_{n}")
    _log_in(page, live_server, seller.user)

    page.goto(live_server.url + "/sell/sales/")
    expect(page.get_by_role("cell", name="fan0@example.com")).to_be_visible()
    shot("seller-sales")
    page.get_by_role("row", name=re.compile("fan1@example.com")).get_by_role(
        "link", name="Refund"
    ).click()
    page.get_by_label(re.compile("Amount to refund")).fill("3")
    page.get_by_label(re.compile("Reason")).fill("Wrong format")
    shot("seller-refund")
    page.get_by_role("button", name="Refund").click()
    page.wait_for_url(re.compile("/sell/sales/$"))
    expect(page.get_by_text("Refunded 3 EUR")).to_be_visible()
    refunded = Order.objects.get(buyer_email="fan1@example.com")
    assert refunded.status == Order.Status.PARTIALLY_REFUNDED and refunded.refunded_amount == 300

    page.goto(live_server.url + "/sell/codes/")
    page.get_by_label("Code", exact=True).fill("SPRING")
    page.get_by_label("How much off").fill("25")
    page.get_by_label(re.compile("Number of uses")).fill("100")
    page.get_by_role("button", name="Create code").click()
    page.wait_for_url(re.compile("/sell/codes/$"))
    expect(page.get_by_role("cell", name="SPRING")).to_be_visible()
    shot("seller-codes")
    assert DiscountCode.objects.get(seller=seller).value == 2500

    page.goto(live_server.url + "/sell/payouts/")
    expect(page.get_by_role("heading", name="Owed to you")).to_be_visible()
    shot("seller-payouts")
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/sell/sales/", "/sell/codes/", "/sell/payouts/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            shot("overflow")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    shot("seller-payouts-phone")
