"""Creating, editing, publishing, archiving and deleting products from the seller pages."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from catalog.models import Product, Tag
from catalog.storage import private_storage, public_storage
from delivery import access as delivery_access
from delivery.services import entitlement_grant
from tests.factories import ProductFactory, add_file, wav_bytes

pytestmark = pytest.mark.django_db


def form(**changes):
    data = {
        "title": "Night Trains",
        "slug": "",
        "kind": "music",
        "description": "Four *tracks*.",
        "currency": "EUR",
        "pricing": "fixed",
        "price": "12,50",
        "minimum": "",
        "suggested_price": "",
        "status": "draft",
        "release_date": "2026-03-01",
        "tags": "Ambient, field recordings, ambient",
    }
    data.update(changes)
    return data


def cover() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "#123456").save(out, "JPEG")
    return SimpleUploadedFile("cover.jpg", out.getvalue(), content_type="image/jpeg")


def test_a_new_product_is_saved_as_a_draft_with_typed_prices_and_tags(seller, seller_client):
    response = seller_client.post(reverse("catalog:sell_product_new"), form(cover=cover()))
    product = Product.objects.get()
    assert response["Location"] == reverse("catalog:sell_files", args=[product.pk])
    assert (product.slug, product.price, product.currency, product.status) == (
        "night-trains",
        1250,
        "EUR",
        "draft",
    )
    assert [t.slug for t in product.tags.order_by("slug")] == ["ambient", "field-recordings"]
    assert product.cover and public_storage().exists(product.cover.name)
    assert str(product.release_date) == "2026-03-01"


def test_pay_what_you_want_keeps_its_minimum_and_suggestion(seller, seller_client):
    seller_client.post(
        reverse("catalog:sell_product_new"),
        form(pricing="pwyw", price="", minimum="3", suggested_price="€7.50"),
    )
    product = Product.objects.get()
    assert (product.pricing, product.price, product.suggested_price) == ("pwyw", 300, 750)


def test_a_free_product_ignores_typed_prices(seller, seller_client):
    seller_client.post(reverse("catalog:sell_product_new"), form(pricing="free", price="9"))
    product = Product.objects.get()
    assert (product.pricing, product.price, product.suggested_price) == ("free", 0, None)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"price": ""}, "Enter an amount."),
        ({"price": "0"}, "A fixed price must be more than zero"),
        ({"price": "12.345"}, "amounts have at most 2 decimals, like 12.50."),
        ({"price": "douze"}, "Write the amount with digits, like 12.50."),
        ({"price": "-4"}, "The amount cannot be negative."),
        (
            {"pricing": "pwyw", "minimum": "5", "suggested_price": "2"},
            "The suggested price cannot be below the minimum.",
        ),
        ({"title": ""}, "This field is required."),
        ({"slug": "Bad Slug"}, "Use lower-case letters, digits and hyphens"),
        ({"status": "published"}, "Before publishing, add at least one file for buyers"),
        ({"tags": ", ".join(f"t{i}" for i in range(11))}, "Up to 10 tags"),
        ({"cover": SimpleUploadedFile("c.jpg", b"not an image")}, "Use a JPEG, PNG or WebP image."),
    ],
)
def test_bad_product_input_gets_a_specific_message_and_saves_nothing(
    seller, seller_client, changes, message
):
    response = seller_client.post(reverse("catalog:sell_product_new"), form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Product.objects.exists()


def test_two_products_with_the_same_title_get_distinct_addresses(seller, seller_client):
    seller_client.post(reverse("catalog:sell_product_new"), form())
    seller_client.post(reverse("catalog:sell_product_new"), form())
    assert sorted(Product.objects.values_list("slug", flat=True)) == [
        "night-trains",
        "night-trains-2",
    ]
    response = seller_client.post(reverse("catalog:sell_product_new"), form(slug="night-trains"))
    assert "You already have a product at this address." in response.content.decode()


def test_the_description_preview_renders_sanitised_markdown_without_saving(seller, seller_client):
    response = seller_client.post(
        reverse("catalog:sell_product_new"),
        form(description="**Loud** <script>alert(1)</script>", preview="1"),
    )
    html = response.content.decode()
    assert "<strong>Loud</strong>" in html and "<script>alert" not in html
    assert not Product.objects.exists()


def test_a_verified_seller_publishes_once_a_file_is_there(seller, seller_client, draft):
    add_file(draft, wav_bytes(2000), "a.wav")
    response = seller_client.post(
        reverse("catalog:sell_product", args=[draft.pk]),
        form(title="Night Trains", slug=draft.slug, status="published", tags=""),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Product.Status.PUBLISHED and not draft.tags.exists()
    assert "Night Trains" in Client().get("/").content.decode()


def test_archiving_a_sold_product_keeps_the_buyers_downloads(seller, seller_client):
    product = ProductFactory(seller=seller, title="Sold")
    asset = add_file(product, wav_bytes(2000), "a.wav")
    entitlement = entitlement_grant(email="fan@example.com", product=product)
    response = seller_client.post(
        reverse("catalog:sell_product", args=[product.pk]),
        form(title="Sold", slug=product.slug, status="archived"),
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == Product.Status.ARCHIVED
    assert Client().get(product.get_absolute_url()).status_code == 404  # off sale
    token = delivery_access.file_link_mint(entitlement=entitlement, asset=asset)
    assert delivery_access.access_file_link(token).asset == asset  # still downloadable


def test_deleting_a_product_with_buyers_is_refused_with_the_reason(seller, seller_client):
    product = ProductFactory(seller=seller, title="Sold")
    add_file(product, wav_bytes(2000), "a.wav")
    entitlement_grant(email="fan@example.com", product=product)
    page = seller_client.get(
        reverse("catalog:sell_product_delete", args=[product.pk])
    ).content.decode()
    assert "archive it instead" in page
    response = seller_client.post(reverse("catalog:sell_product_delete", args=[product.pk]))
    assert response.status_code == 409
    assert "has buyers, so it cannot be deleted: archive it instead" in response.content.decode()
    assert Product.objects.filter(pk=product.pk).exists()


def test_deleting_an_unsold_product_removes_it_and_its_files(
    seller, seller_client, draft, django_capture_on_commit_callbacks
):
    asset = add_file(draft, wav_bytes(2000), "a.wav")
    preview = add_file(draft, wav_bytes(2000, seed=2), "p.wav", role="preview")
    names = (asset.file.name, preview.public_file.name)
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(reverse("catalog:sell_product_delete", args=[draft.pk]))
    assert response["Location"] == reverse("catalog:sell_dashboard")
    assert not Product.objects.exists()
    assert not private_storage().exists(names[0]) and not public_storage().exists(names[1])


def test_the_dashboard_lists_only_the_sellers_own_products_in_every_status(seller, seller_client):
    for status in Product.Status.values:
        ProductFactory(seller=seller, title=f"Mine {status}", status=status)
    ProductFactory(title="Someone else's")
    html = seller_client.get(reverse("catalog:sell_dashboard")).content.decode()
    assert all(f"Mine {status}" in html for status in Product.Status.values)
    assert "Someone else" not in html


def test_editing_shows_the_current_values_as_typed_amounts(seller, seller_client):
    product = ProductFactory(seller=seller, pricing="pwyw", price=300, suggested_price=750)
    product.tags.add(Tag.objects.create(slug="ambient"))
    html = seller_client.get(reverse("catalog:sell_product", args=[product.pk])).content.decode()
    assert 'value="3.00"' in html and 'value="7.50"' in html and 'value="ambient"' in html
