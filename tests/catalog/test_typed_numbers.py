"""Every number a person types on the catalog side goes through ``catalog.money``'s parsers:
the product form, the import manifest, page numbers, upload sizes and offsets."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalog.imports import plan_catalog
from catalog.models import Product, UploadSession
from tests.catalog.test_import import make_catalog
from tests.catalog.test_sell_products import form
from tests.catalog.test_uploads import CONTENT, open_upload
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TEN_THOUSAND_DIGITS = "9" * 10_000

# What a seller might type as a price, and what the page then says.
HOSTILE_PRICES = [
    ("1e999990", "without an exponent: 1000, not 1e3."),
    ("1e3", "without an exponent"),
    ("10^30", "without an exponent"),
    ("²", "with the digits 0 to 9"),
    ("١٢", "with the digits 0 to 9"),
    ("-5", "The amount cannot be negative."),
    ("12.345", "without a thousands separator, as 12345"),
    ("1,000", "without a thousands separator, as 1000"),
    ("1 000", "looks like it has a thousands separator"),
    ("NaN", "Write the amount with digits, like 12.50."),
    ("Infinity", "Write the amount with digits, like 12.50."),
    (TEN_THOUSAND_DIGITS, "That is too long for a number"),
    ("1000000", "At most €999,999.99."),
]


@pytest.mark.parametrize("field", ["price", "minimum", "suggested_price"])
@pytest.mark.parametrize(("typed", "message"), HOSTILE_PRICES)
def test_the_product_form_refuses_a_hostile_price_and_keeps_the_form(
    seller, seller_client, field, typed, message
):
    pricing = "fixed" if field == "price" else "pwyw"
    response = seller_client.post(
        reverse("catalog:sell_product_new"), form(pricing=pricing, **{field: typed})
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert 'value="Night Trains"' in page  # what was typed is still there
    assert not Product.objects.exists()


def test_the_product_form_reads_a_price_in_the_currencys_own_decimals(
    seller, seller_client, settings
):
    settings.STORE_CURRENCY = "JPY"  # forms offer the currencies the shop charges
    seller_client.post(reverse("catalog:sell_product_new"), form(currency="JPY", price="1250"))
    assert Product.objects.get().price == 1250
    response = seller_client.post(
        reverse("catalog:sell_product_new"), form(currency="JPY", price="12.5", title="Other")
    )
    assert response.status_code == 400
    assert "Write a whole number, like 1250." in response.content.decode()


@pytest.mark.parametrize(("typed", "message"), HOSTILE_PRICES)
def test_a_csv_manifest_row_with_a_hostile_price_is_a_problem_of_its_row(
    seller, tmp_path, typed, message
):
    cell = f'"{typed}"' if "," in typed else typed
    root = make_catalog(
        tmp_path / "cat", f"Field Notes,ebook,fixed,{cell},,ebook-field-notes.pdf,,,,,,,\n"
    )
    (row,) = plan_catalog(seller=seller, root=root).rows
    assert any(message in problem for problem in row.problems), row.problems
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("number", "message"),
    [("1e999999", "without an exponent"), ("1e3", "without an exponent"),
     (TEN_THOUSAND_DIGITS, "That is too long for a number"), ("NaN", "with digits"),
     ("Infinity", "with digits"), ("-5", "cannot be negative"), ("1000000", "At most €999,999.99.")],
)  # fmt: skip
def test_a_json_manifest_price_is_read_as_written_not_as_a_float(seller, tmp_path, number, message):
    root = make_catalog(tmp_path / "cat", "")
    (root / "catalog.csv").unlink()
    rows = [
        {"title": "Bad", "kind": "ebook", "price": "@", "files": ["ebook-field-notes.pdf"]},
        {"title": "Good", "kind": "ebook", "price": "@", "files": ["ebook-field-notes.pdf"]},
    ]
    # The numbers are written into the JSON text as JSON numbers (or constants), unquoted.
    text = json.dumps(rows).replace('"@"', number, 1).replace('"@"', "9.99", 1)
    (root / "catalog.json").write_text(text)
    bad, good = plan_catalog(seller=seller, root=root).rows
    assert any(message in problem for problem in bad.problems), bad.problems
    assert good.problems == [] and good.values["price"] == 999


@pytest.mark.parametrize(
    ("typed", "message"),
    [("²", "with the digits 0 to 9"), ("١٢", "with the digits 0 to 9"), ("0", "At least 1."),
     ("-1", "cannot be negative"), ("1" + "0" * 30, "At most 100,000."), ("1e3", "exponent"),
     ("2.5", "Enter a whole number"), (TEN_THOUSAND_DIGITS, "too long")],
)  # fmt: skip
def test_a_page_number_that_is_not_one_is_answered_400_with_the_first_page(client, typed, message):
    product = ProductFactory(title="Night Trains", status=Product.Status.PUBLISHED)
    response = client.get("/", {"page": typed})
    page = response.content.decode()
    assert response.status_code == 400
    assert "No such page: " in page and message in page
    assert product.title in page


def test_a_page_number_past_the_end_shows_the_last_page(client):
    ProductFactory(title="Night Trains", status=Product.Status.PUBLISHED)
    for typed in ("1", "7"):
        response = client.get("/", {"page": typed})
        assert response.status_code == 200 and "Night Trains" in response.content.decode()


@pytest.mark.parametrize(
    ("size", "message"),
    [("1e999", "Write a whole number"), ('"١٢"', "with the digits 0 to 9"),
     ("12.7", "Enter a whole number"), ("true", "Write it with digits"),
     ('"-5"', "cannot be negative"), ("1" + "0" * 4000, "far too large"),
     ('"' + TEN_THOUSAND_DIGITS + '"', "too long")],
)  # fmt: skip
def test_an_upload_size_must_be_a_whole_number_of_bytes(seller_client, draft, size, message):
    body = f'{{"product": {draft.pk}, "filename": "a.wav", "size": {size}}}'
    response = seller_client.post(
        reverse("catalog:sell_upload_create"), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Give the file's size in bytes: ")
    assert message in response.json()["error"]
    assert not UploadSession.objects.exists()


@pytest.mark.parametrize("offset", ["١٢", "²", "1e3", "-1", "9" * 5000])
def test_an_upload_offset_must_be_ascii_digits(seller_client, draft, offset):
    session = open_upload(seller_client, draft)
    response = seller_client.generic(
        "PATCH",
        session["urls"]["self"],
        CONTENT[:10],
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=offset,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Send Upload-Offset and Content-Length as whole numbers."
    assert UploadSession.objects.get().received_bytes == 0
