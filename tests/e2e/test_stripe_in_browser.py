"""The Stripe money path in Chromium: cart, Checkout redirect, webhook, library.

Stripe's hosted page is answered by a local stand-in (Playwright intercepts
checkout.stripe.com); the API is answered from Stripe's example objects and the
webhook is signed with the real scheme and POSTed to the live server.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from shop.models import Order
from shop.payments import stripe_api
from tests.factories import ProductFactory, SellerFactory, add_file, pdf_bytes
from tests.stripe_fake import WEBHOOK_SECRET, FakeStripe, event, sign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAND_IN = """<!doctype html><html lang="en"><head><title>Stripe Checkout (stand-in)</title></head>
<body><h1>Pay with card (stand-in)</h1><p>Total: {total}</p>
<a id="pay" href="{success}">Pay</a></body></html>"""


def test_a_buyer_pays_a_two_seller_cart_through_stripe(
    page, live_server, settings, monkeypatch, shot
):
    fake = FakeStripe()
    monkeypatch.setattr(stripe_api, "_http_client", fake)
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_browser"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SITE_URL = live_server.url
    book = ProductFactory(
        title="Field Notes", price=900, seller=SellerFactory(display_name="Maëlle")
    )
    album = ProductFactory(
        title="Night Trains", price=700, seller=SellerFactory(display_name="Les Ondes")
    )
    for product in (book, album):
        add_file(
            product,
            pdf_bytes(b"bytes of " + product.title.encode()),
            f"{product.slug}.pdf",
        )

    def stand_in(route):
        session_id = route.request.url.rsplit("/", 1)[-1]
        session = fake.sessions[session_id]
        success = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        body = STAND_IN.format(total=session["amount_total"], success=success)
        route.fulfill(status=200, content_type="text/html", body=body)

    page.route(re.compile(r"^https://checkout\.stripe\.com/.*"), stand_in)

    for product in (book, album):
        page.goto(live_server.url + product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile("/cart/"))
    expect(page.get_by_role("link", name="Field Notes")).to_be_visible()
    expect(page.get_by_role("button", name="Pay €16.00")).to_be_visible()
    shot("cart")
    page.get_by_label("Your email").fill("fan@example.com")
    page.get_by_role("button", name="Pay €16.00").click()
    page.wait_for_url(re.compile(r"^https://checkout\.stripe\.com/"))
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING

    # The buyer pays on Stripe; Stripe tells the shop by webhook.
    session = fake.complete(order.provider_session_id)
    payload = json.dumps(event("checkout.session.completed", session))
    request = urllib.request.Request(  # noqa: S310 - the live test server
        live_server.url + "/stripe/webhook/",
        data=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.read() == b"fulfilled"

    page.get_by_role("link", name="Pay").click()
    page.wait_for_url(re.compile("/orders/"))
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.get_by_role("heading", name="Your downloads")).to_be_visible()
    expect(page.get_by_role("heading", name="Field Notes")).to_be_visible()
    expect(page.get_by_role("heading", name="Night Trains")).to_be_visible()
    shot("library-after-stripe")
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Download {album.slug}.pdf").click()
    with open(info.value.path(), "rb") as handle:
        assert handle.read() == pdf_bytes(b"bytes of Night Trains")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.total == 1600
