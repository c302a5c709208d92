"""The whole loop through Django's test client: browse, pay, receipt, email, library, bytes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import Product
from delivery.models import Entitlement, LibraryLink
from shop.models import Order
from tests.factories import ProductFactory, add_file, demo_media
from tests.helpers import emails_to, library_url_from_last_email, pay, start_checkout

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_buyer_pays_and_downloads_every_file_byte_for_byte(
    client, django_capture_on_commit_callbacks
):
    product = ProductFactory(title="Chansons été", price=700, kind=Product.Kind.MUSIC)
    track_one = bytes(range(256)) * 1000 + b"one"
    track_two = demo_media("album-02-tunnel.mp3")  # a real MP3: inspection reads it
    add_file(product, track_one, "01 – Départ.mp3", position=1)
    add_file(product, track_two, "02 – 東京.mp3", position=2, inspect=True)

    home = client.get("/")
    assert product.title in home.content.decode()
    page = client.get(product.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert "€7.00" in html and product.seller.display_name in html

    response = start_checkout(client, product, email="Fan@Example.com ")
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("shop:test_pay", kwargs={"order": order.public_id})
    assert order.status == Order.Status.PENDING and order.total == 700
    assert order.buyer_email == "fan@example.com"
    assert not Entitlement.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = pay(client, order)
    order.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert order.status == Order.Status.PAID
    assert order.items.get().entitlement.is_active

    receipt = client.get(order.get_absolute_url())
    assert "Thank you" in receipt.content.decode()
    receipts = emails_to("fan@example.com")
    assert len(receipts) == 1
    message = receipts[0]
    assert "text/html" in message.alternatives[0][1]
    # The seller hears about the sale too.
    [notice] = emails_to(product.seller.user.email)
    assert product.title in notice.subject and "fan@example.com" in notice.body
    library_path = library_url_from_last_email()

    library = client.get(library_path)
    html = library.content.decode()
    assert library.status_code == 200
    links = re.findall(r'href="(/library/[^"]+/files/\d+/\d+/)"', html)
    assert len(links) == 2
    for link, expected, name in zip(
        links, (track_one, track_two), ("01 – Départ.mp3", "02 – 東京.mp3"), strict=True
    ):
        minted = client.get(link)
        assert minted.status_code == 302
        download = client.get(minted["Location"])
        assert download.status_code == 200
        assert _body(download) == expected
        disposition = download["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=utf-8''" in disposition
        from urllib.parse import unquote

        assert unquote(disposition.split("filename*=utf-8''")[1]) == name


def test_the_receipt_page_offers_the_order_files_to_the_browser_that_paid(client):
    product = ProductFactory()
    asset = add_file(product, b"the paid bytes" * 10, "book.pdf")
    start_checkout(client, product)
    order = Order.objects.get()
    pay(client, order)
    receipt = client.get(order.get_absolute_url())
    html = receipt.content.decode()
    entitlement = order.items.get().entitlement
    file_url = reverse("shop:receipt_file", args=[order.public_id, entitlement.pk, asset.pk])
    assert f'href="{file_url}"' in html
    assert (
        receipt["Referrer-Policy"] == "same-origin"
        and receipt["Cache-Control"] == "private, no-store"
    )
    minted = client.get(file_url)
    assert minted.status_code == 302
    assert _body(client.get(minted["Location"])) == b"the paid bytes" * 10
    # The receipt never mints a library link: nothing to revoke was created.
    assert not LibraryLink.objects.exists()


def test_a_declined_payment_leaves_no_paid_order_and_no_library_entry(
    client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    add_file(product)
    start_checkout(client, product)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(client, order, outcome="decline")
    order.refresh_from_db()
    assert response.status_code == 302
    assert order.status == Order.Status.FAILED
    assert not Entitlement.objects.exists()
    assert emails_to("fan@example.com") == []
    assert "Payment failed" in client.get(order.get_absolute_url()).content.decode()
    # Paying a failed order afterwards is refused, not silently accepted.
    retry = pay(client, order)
    order.refresh_from_db()
    assert retry.status_code == 409
    assert order.status == Order.Status.FAILED
    assert not Entitlement.objects.exists()


def test_a_free_product_skips_payment_and_goes_straight_to_the_library(
    client, django_capture_on_commit_callbacks
):
    product = ProductFactory(pricing=Product.Pricing.FREE, price=0)
    add_file(product)
    with django_capture_on_commit_callbacks(execute=True):
        response = start_checkout(client, product)
    order = Order.objects.get()
    assert order.status == Order.Status.PAID and order.total == 0
    assert response["Location"] == order.get_absolute_url()
    assert Entitlement.objects.filter(product=product, status="active").count() == 1
    assert len(emails_to("fan@example.com")) == 1
