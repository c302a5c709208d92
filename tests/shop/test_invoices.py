"""Invoices: numbered without gaps when an order is paid, shown as a page and a PDF.

The PDF's text is read back with pypdf, so what a buyer's accountant reads is
what is checked.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection
from pypdf import PdfReader

from catalog.models import Product, Seller
from shop.models import Invoice, InvoiceCounter, Order
from shop.services import OrderLine, order_create, order_fulfil
from tests.factories import ProductFactory, SellerFactory, add_file
from tests.helpers import KEY, at_once
from tests.stripe_fake import event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _platform(settings):
    settings.STRIPE_AUTOMATIC_TAX = True
    settings.PLATFORM_LEGAL_NAME = "Échoppe SAS"
    settings.PLATFORM_LEGAL_ADDRESS = "12 rue des Lilas\n75011 Paris, France"
    settings.PLATFORM_VAT_NUMBER = "FR40123456789"
    settings.INVOICE_PREFIX = "ECH-"


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _pending(product: Product, key: str) -> Order:
    return order_create(
        lines=[OrderLine(product)],
        email=f"{key}@example.com",
        checkout_key=key * 16,
        provider="stripe",
    )


def _taxed_order(client, stripe_fake, deliver, capture, **tax) -> Order:
    seller = SellerFactory(
        display_name="Les Ondes",
        legal_name="Les Ondes Douces SARL",
        legal_address="3 quai Rambaud\n69002 Lyon",
        vat_number="FR55987654321",
        tax_behavior=Seller.TaxBehavior.EXCLUSIVE,
    )
    product = ProductFactory(seller=seller, kind=Product.Kind.EBOOK, price=1000, title="Carnets")
    add_file(product)
    client.post(f"/cart/add/{product.pk}/")
    client.post("/cart/", {"email": "fan@example.com", "checkout_key": KEY})
    order = Order.objects.get()
    stripe_fake.apply_tax(order.provider_session_id, **tax)
    session = stripe_fake.complete(order.provider_session_id)
    with capture(execute=True):
        assert deliver(event("checkout.session.completed", session)).content == b"fulfilled"
    order.refresh_from_db()
    return order


def test_a_paid_taxed_order_has_an_invoice_with_every_figure(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _taxed_order(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        country="FR",
        percent=5.5,
    )
    invoice = order.invoice
    assert invoice.number == "ECH-000001" and invoice.sequence == 1
    response = client.get(f"/orders/{order.public_id}/invoice.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="ECH-000001.pdf"' in response["Content-Disposition"]
    text = _pdf_text(response.content)
    for expected in (
        "ECH-000001",
        "Échoppe SAS",
        "12 rue des Lilas",
        "FR40123456789",
        "Les Ondes Douces SARL",
        "3 quai Rambaud",
        "FR55987654321",
        "fan@example.com",
        "Carnets",
        "€10.00",  # net
        "5.5",  # rate
        "€0.55",  # VAT
        "€10.55",  # gross
    ):
        assert expected in text, expected
    assert "Reverse charge" not in text
    page = client.get(f"/orders/{order.public_id}/invoice/").content.decode()
    assert "ECH-000001" in page and "€10.55" in page and "Les Ondes Douces SARL" in page
    receipt = client.get(order.get_absolute_url()).content.decode()
    assert f"/orders/{order.public_id}/invoice.pdf" in receipt
    assert "€10.55" in receipt and "€0.55" in receipt  # gross and VAT on the receipt


def test_a_reverse_charged_business_sale_says_so_with_the_buyer_s_vat_number(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _taxed_order(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        country="DE",
        percent=0,
        reason="reverse_charge",
        tax_ids=[("eu_vat", "DE123456789")],
    )
    text = _pdf_text(client.get(f"/orders/{order.public_id}/invoice.pdf").content)
    assert "DE123456789" in text
    assert "Reverse charge" in text and "2006/112/EC" in text


def test_the_french_invoice_speaks_french(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _taxed_order(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        country="DE",
        percent=0,
        reason="reverse_charge",
        tax_ids=[("eu_vat", "DE123456789")],
    )
    Order.objects.filter(pk=order.pk).update(language="fr")
    text = _pdf_text(client.get(f"/orders/{order.public_id}/invoice.pdf").content)
    assert "Facture ECH-000001" in text
    assert "Autoliquidation" in text
    assert "10,00" in text  # a French amount


def test_numbers_follow_each_other_and_free_or_unpaid_orders_have_none(db, client):
    product = ProductFactory(price=500)
    free = ProductFactory(pricing=Product.Pricing.FREE, price=0)
    first, second = _pending(product, "a"), _pending(product, "b")
    order_fulfil(order_id=second.pk, payment_id="pi_b")
    order_fulfil(order_id=first.pk, payment_id="pi_a")
    order_fulfil(order_id=first.pk, payment_id="pi_a")  # again: no second invoice
    claimed = _pending(free, "c")
    assert claimed.status == Order.Status.PAID
    numbers = dict(Invoice.objects.values_list("order_id", "number"))
    assert numbers == {second.pk: "ECH-000001", first.pk: "ECH-000002"}
    unpaid = _pending(product, "d")
    assert client.get(f"/orders/{unpaid.public_id}/invoice.pdf").status_code == 404
    assert client.get(f"/orders/{claimed.public_id}/invoice/").status_code == 404


def test_a_payment_rolled_back_gives_its_number_back(db, monkeypatch):
    product = ProductFactory(price=500)
    first, second = _pending(product, "a"), _pending(product, "b")
    from shop import services

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(services, "outbox_add_new", broken)
    with pytest.raises(RuntimeError):
        order_fulfil(order_id=first.pk, payment_id="pi_a")
    monkeypatch.undo()
    assert not Invoice.objects.exists()
    assert not InvoiceCounter.objects.filter(last__gt=0).exists()
    order_fulfil(order_id=second.pk, payment_id="pi_b")
    assert Invoice.objects.get().number == "ECH-000001"


def test_the_seller_downloads_the_invoice_of_their_own_sales_only(
    client, stripe_fake, deliver, django_capture_on_commit_callbacks
):
    order = _taxed_order(
        client,
        stripe_fake,
        deliver,
        django_capture_on_commit_callbacks,
        country="FR",
        percent=5.5,
    )
    [item] = order.items.all()
    client.force_login(item.seller.user)
    sales = client.get("/sell/sales/").content.decode()
    assert f"/sell/sales/{item.pk}/invoice.pdf" in sales
    assert "€10.55" in sales  # what the buyer paid, VAT included
    pdf = client.get(f"/sell/sales/{item.pk}/invoice.pdf")
    assert pdf.status_code == 200 and "ECH-000001" in _pdf_text(pdf.content)
    other = SellerFactory()
    client.force_login(other.user)
    assert client.get(f"/sell/sales/{item.pk}/invoice.pdf").status_code == 404


def test_a_malformed_seller_vat_number_is_refused_with_a_clear_message(client):
    seller = SellerFactory(vat_number="FR55987654321")
    client.force_login(seller.user)
    form = {
        "display_name": "Renamed",
        "slug": seller.slug,
        "currency": "EUR",
        "timezone": "UTC",
        "vat_number": "12 34",
    }
    response = client.post("/sell/profile/", form)
    assert response.status_code == 400
    assert "is not a VAT number" in response.content.decode()
    seller.refresh_from_db()
    assert (seller.vat_number, seller.display_name) != ("1234", "Renamed")
    assert seller.vat_number == "FR55987654321"
    ok = client.post("/sell/profile/", {**form, "vat_number": "fr 55.987.654.321"})
    assert ok.status_code == 302
    seller.refresh_from_db()
    assert seller.vat_number == "FR55987654321" and seller.display_name == "Renamed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counter", ["kept", "not made yet"])
def test_concurrent_payments_take_each_number_once_without_gaps(db, counter):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    # The migration makes the counter's row; without it, the first payments make it.
    if counter == "kept":
        InvoiceCounter.objects.get_or_create(scope="shop")
    else:
        InvoiceCounter.objects.all().delete()
    product = ProductFactory(price=500)
    orders = [_pending(product, key) for key in "abcdef"]
    pays = [lambda pk=o.pk: order_fulfil(order_id=pk, payment_id=f"pi_{pk}") for o in orders]
    assert at_once(*pays) == []
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert InvoiceCounter.objects.get().last == 6
