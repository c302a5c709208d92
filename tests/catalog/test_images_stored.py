"""Covers and avatars are stored re-encoded: sizes for the pages, no EXIF or GPS; refused
uploads in the admin are form errors, not 500s."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Asset, Product
from catalog.services import CatalogError
from catalog.services.images import image_store, image_variant
from tests.factories import ProductFactory, UserFactory, add_file, pdf_bytes

pytestmark = pytest.mark.django_db


def _photo_with_gps() -> bytes:
    image = Image.new("RGB", (1600, 900), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_cover_is_stored_as_sizes_without_exif(product):
    image_store(field=product.cover, source=SimpleUploadedFile("p.jpg", _photo_with_gps()))
    product.save()
    storage = product.cover.storage
    assert product.cover.name.endswith("/1200.jpg")
    for variant in ("1200.webp", "1200.jpg", "600.webp", "600.jpg"):
        with storage.open(image_variant(product.cover.name, variant)) as handle:
            stored = Image.open(io.BytesIO(handle.read()))
            assert max(stored.size) == int(variant.split(".")[0])
            assert not stored.getexif(), variant


def test_the_pages_use_the_sizes(client, product):
    image_store(field=product.cover, source=_photo_with_gps())
    product.save()
    page = client.get(product.get_absolute_url()).content.decode()
    home = client.get("/").content.decode()
    assert image_variant(product.cover.url, "1200.webp") in page
    assert image_variant(product.cover.url, "600.webp") in home


def test_something_that_is_not_an_image_is_refused_as_a_cover(product):
    with pytest.raises(CatalogError):
        image_store(field=product.cover, source=b"%PDF-1.4 not an image")
    assert not product.cover


def test_a_refused_file_in_the_admin_is_a_form_error(client, db):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    product = ProductFactory()
    url = f"/admin/catalog/product/{product.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: (form.initial.get(name) or "") for name in form.fields}
    data.update(
        {
            "title": product.title,
            "slug": product.slug,
            "seller": product.seller_id,
            "price": product.price,
            "status": product.status,
            "assets-TOTAL_FORMS": "1",
            "assets-INITIAL_FORMS": "0",
            "assets-MIN_NUM_FORMS": "0",
            "assets-MAX_NUM_FORMS": "1000",
            "assets-0-role": "deliverable",
            "assets-0-position": "1",
            "assets-0-file": SimpleUploadedFile("evil.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n"),
            "tags": [],
        }
    )
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the reason
    assert "evil.eps" in response.content.decode()
    assert not Asset.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).title == product.title


def test_the_admin_shows_a_products_files_without_linking_the_paid_ones(client, db):
    """A paid file has no URL (its storage refuses one): the admin names it instead."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    product = ProductFactory()
    paid = add_file(product, pdf_bytes(b"chapter one " * 50), "Été.pdf")
    page = client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert paid.file.name in html
    assert "private: buyers download it through their library" in html
    assert f'href="{settings.MEDIA_URL}{paid.file.name}"' not in html
