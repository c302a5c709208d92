"""The whole purchase in a real browser: browse, pay in test mode, open the library, download."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from shop.models import Order
from tests.factories import ProductFactory, SellerFactory, add_file, pdf_bytes
from tests.helpers import library_url_from_last_email

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_buyer_buys_and_downloads_in_the_browser(page, live_server, shot):
    seller = SellerFactory(display_name="Maëlle Durand")
    product = ProductFactory(
        seller=seller,
        title="Field Notes",
        pricing=Product.Pricing.PWYW,
        price=500,
        suggested_price=900,
        description="An essay about **small shops**.",
    )
    content = pdf_bytes(bytes(range(256)) * 64)
    add_file(product, content, "Field Notes – édition.pdf")

    page.goto(live_server.url + "/")
    expect(page.get_by_text("Test mode: no real payments")).to_be_visible()
    shot("home")
    page.get_by_role("link", name=re.compile("Field Notes")).first.click()
    page.wait_for_url(re.compile(product.slug))
    shot("product")

    # Under the minimum: refused, the form comes back with the message.
    page.get_by_label("Your price (EUR)").fill("2")
    page.get_by_label("Your email").fill("fan@example.com")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text(re.compile(r"minimum price of .* is €5\.00"))).to_be_visible()
    assert page.get_by_label("Your email").input_value() == "fan@example.com"
    shot("product-error")

    page.get_by_label("Your price (EUR)").fill("7.50")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile("/pay/test/"))
    shot("test-payment")
    page.get_by_role("button", name="Pay €7.50").click()
    page.wait_for_url(re.compile("/orders/"))
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    shot("receipt")
    order = Order.objects.get()
    assert order.status == Order.Status.PAID and order.total == 750

    # The receipt offers this order's files to the browser that paid for it.
    expect(page.get_by_role("heading", name="Your downloads")).to_be_visible()
    expect(page.get_by_role("heading", name="Field Notes")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download Field Notes – édition.pdf").click()
    download = info.value
    assert download.suggested_filename == "Field Notes – édition.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == content
    # The library itself opens from the link in the receipt email.
    page.goto(live_server.url + library_url_from_last_email())
    expect(page.get_by_role("heading", name="Your library")).to_be_visible()
    expect(page.get_by_role("link", name="Download Field Notes – édition.pdf")).to_be_visible()
    shot("library")


def test_pages_fit_a_phone_screen(browser, live_server):
    product = ProductFactory(title="A rather long title for a very small phone screen")
    add_file(product)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        for path in ("/", product.get_absolute_url(), "/library/lost/"):
            page.goto(live_server.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    finally:
        context.close()
