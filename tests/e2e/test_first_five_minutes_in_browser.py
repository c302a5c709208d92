"""What a newcomer meets first, in a real browser: try again, publish, the error pages, focus."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from shop.models import Order
from tests.factories import ProductFactory, SellerFactory, add_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_declined_buyer_goes_back_then_tries_again_and_pays(page, live_server, shot, settings):
    settings.SITE_TERMS_URL = "https://example.com/terms"
    settings.SITE_CONTACT_EMAIL = "help@example.com"
    product = ProductFactory(title="Night Trains", pricing=Product.Pricing.PWYW, price=300)
    add_file(product)
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_label("Your price (EUR)").fill("4")
    page.get_by_label("Your email").fill("fan@example.com")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile("/pay/test/"))
    shot("five-test-payment")
    expect(page.get_by_role("link", name=re.compile("Back to “Night Trains”"))).to_be_visible()
    page.get_by_role("button", name="Decline payment").click()
    page.wait_for_url(re.compile("/orders/"))
    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    footer = page.locator("footer")
    expect(footer.get_by_role("link", name="Terms")).to_be_visible()
    expect(footer.get_by_role("link", name="help@example.com")).to_be_visible()
    shot("five-declined")
    page.get_by_role("button", name="Try again").click()
    page.wait_for_url(re.compile("/pay/test/"))
    page.get_by_role("button", name="Pay €4.00").click()
    page.wait_for_url(re.compile("/orders/"))
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert list(Order.objects.order_by("created_at").values_list("status", flat=True)) == [
        "failed",
        "paid",
    ]


def test_a_seller_publishes_from_the_files_page(page, live_server, shot):
    seller = SellerFactory()
    seller.user.set_password("pw-for-the-test")
    seller.user.save()
    product = ProductFactory(seller=seller, title="Field Notes", status=Product.Status.DRAFT)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label(re.compile("Email|Username", re.I)).fill(seller.user.email)
    page.get_by_label("Password").fill("pw-for-the-test")
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    page.goto(live_server.url + f"/sell/products/{product.pk}/files/")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Before publishing, add at least one file for buyers")).to_be_visible()
    shot("five-files-refused")
    add_file(product)
    page.reload()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("“Field Notes” is published")).to_be_visible()
    # The keyboard focus ring, as a keyboard user sees it.
    page.get_by_role("button", name="Unpublish").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    shot("five-files-published-focus")
    product.refresh_from_db()
    assert product.status == Product.Status.PUBLISHED


def test_the_error_pages_look_like_the_shop(page, live_server, shot, settings):
    settings.ROOT_URLCONF = "tests.shop.urls_failing"
    page.goto(live_server.url + "/no-such-page/")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot("five-404")
    page.goto(live_server.url + "/boom/")
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the shop")).to_be_visible()
    shot("five-500")
