"""Stamped ebooks: every page names its buyer and order, made once per buyer and file."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader, PdfWriter

from catalog.models import Product
from delivery.formats.models import StampedCopy
from delivery.models import Entitlement
from delivery.services import library_link_create
from delivery.stamping import StampRefused, stamp_pdf
from shop.services import OrderLine, checkout_key_new, order_create, order_fulfil
from tests.factories import add_file, pdf_bytes

pytestmark = pytest.mark.django_db

LINE = "Licensed to Amélie Poulain — order 1234"


def _pdf(pages: int = 3) -> bytes:
    return pdf_bytes(b"", title="Field Notes", pages=pages)


def test_every_page_carries_the_footer_as_text_and_the_metadata_names_the_buyer(tmp_path):
    source, output = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(_pdf(3))
    assert stamp_pdf(str(source), str(output), licensee="Amélie Poulain", line=LINE) == 3
    reader = PdfReader(output)
    assert [page.extract_text().strip() for page in reader.pages] == [LINE] * 3
    assert reader.metadata["/Licensee"] == "Amélie Poulain"
    assert reader.metadata["/Subject"] == LINE


def test_an_encrypted_pdf_is_refused_with_a_reason(tmp_path):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(1))))
    writer.encrypt("secret")
    source = tmp_path / "locked.pdf"
    with open(source, "wb") as handle:
        writer.write(handle)
    with pytest.raises(StampRefused, match="encrypted"):
        stamp_pdf(str(source), str(tmp_path / "o.pdf"), licensee="x", line="x")


def test_a_broken_pdf_is_refused(tmp_path):
    source = tmp_path / "broken.pdf"
    source.write_bytes(b"%PDF-1.4\nnot a pdf at all")
    with pytest.raises(StampRefused):
        stamp_pdf(str(source), str(tmp_path / "o.pdf"), licensee="x", line="x")


@pytest.fixture
def bought(product):
    product.stamp_ebooks = True
    product.save(update_fields=["stamp_ebooks"])
    asset = add_file(product, _pdf(4), "Field Notes.pdf")
    order = order_create(
        lines=[OrderLine(product)],
        email="amelie@example.com",
        checkout_key=checkout_key_new(),
        provider="test",
    )
    order_fulfil(order_id=order.pk, payment_id=f"test_{order.public_id.hex}")
    entitlement = Entitlement.objects.get(library__email="amelie@example.com")
    token = library_link_create(library=entitlement.library)
    return entitlement, asset, token, order


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_buyer_downloads_a_copy_stamped_with_their_email_and_order(
    client, bought, django_capture_on_commit_callbacks
):
    entitlement, asset, token, order = bought
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(url)
    assert "Preparing your copy" in first.content.decode()
    link = client.get(url)["Location"]
    data = _body(client.get(link))
    reader = PdfReader(io.BytesIO(data))
    expected = f"Licensed to amelie@example.com — order {order.public_id}"
    assert len(reader.pages) == 4
    assert all(page.extract_text().strip() == expected for page in reader.pages)
    # Made once: asking again reuses the stored copy.
    client.get(url)
    assert StampedCopy.objects.count() == 1


def test_a_replaced_file_is_stamped_afresh(client, bought, django_capture_on_commit_callbacks):
    entitlement, asset, token, _order = bought
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    type(asset).objects.filter(pk=asset.pk).update(sha256="f" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    assert StampedCopy.objects.filter(asset=asset).count() == 2


def test_an_encrypted_pdf_reaches_the_buyer_unstamped_and_the_seller_is_told(
    client, product, django_capture_on_commit_callbacks
):
    product.stamp_ebooks = True
    product.save(update_fields=["stamp_ebooks"])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(1))))
    writer.encrypt("secret")
    locked = io.BytesIO()
    writer.write(locked)
    asset = add_file(product, locked.getvalue(), "locked.pdf")
    from delivery.services import entitlement_grant

    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    download = client.get(client.get(url)["Location"])
    assert download.status_code == 200
    assert _body(download) == locked.getvalue()
    assert StampedCopy.objects.get().unstamped
    assert [m.to for m in mail.outbox][-1] == [product.seller.user.email]
    assert "without its stamp" in mail.outbox[-1].subject


def test_without_stamping_the_file_goes_as_it_is(client, product):
    assert not Product.objects.get(pk=product.pk).stamp_ebooks
    asset = add_file(product, _pdf(1), "plain.pdf")
    from delivery.services import entitlement_grant

    entitlement = entitlement_grant(email="fan@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    response = client.get(reverse("delivery:file", args=[token, entitlement.pk, asset.pk]))
    assert response.status_code == 302
    assert not StampedCopy.objects.exists()


def test_an_epub_gets_a_page_of_its_own_and_package_metadata_and_still_passes_inspection(
    tmp_path,
):
    import zipfile

    from catalog.inspection import inspect_path
    from delivery.stamping import stamp_epub
    from tests.factories import demo_media

    source, output = tmp_path / "in.epub", tmp_path / "out.epub"
    source.write_bytes(demo_media("ebook-field-notes.epub"))
    stamp_epub(str(source), str(output), licensee="Amélie Poulain", line=LINE)
    inspection = inspect_path(output, claimed_name="out.epub")
    assert inspection.mime == "application/epub+zip"
    assert inspection.title
    with zipfile.ZipFile(output) as archive:
        assert archive.infolist()[0].filename == "mimetype"
        assert archive.infolist()[0].compress_type == zipfile.ZIP_STORED
        page = next(n for n in archive.namelist() if n.endswith("echoppe-licence.xhtml"))
        assert LINE in archive.read(page).decode()
        opf = next(n for n in archive.namelist() if n.endswith(".opf"))
        package = archive.read(opf).decode()
    assert "<dc:rights" in package and LINE in package
    spine = package[package.index("<spine") :]
    assert spine.index('idref="echoppe-licence"') < spine.index(
        "<itemref", spine.index("echoppe") + 1
    )


def test_a_broken_epub_is_refused(tmp_path):
    from delivery.stamping import stamp_epub

    source = tmp_path / "b.epub"
    source.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(StampRefused):
        stamp_epub(str(source), str(tmp_path / "o.epub"), licensee="x", line="x")


def test_the_buyer_downloads_a_stamped_epub(client, product, django_capture_on_commit_callbacks):
    import zipfile

    from delivery.services import entitlement_grant
    from tests.factories import demo_media

    product.stamp_ebooks = True
    product.save(update_fields=["stamp_ebooks"])
    asset = add_file(product, demo_media("ebook-field-notes.epub"), "Field Notes.epub")
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    data = _body(client.get(client.get(url)["Location"]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        page = next(n for n in archive.namelist() if n.endswith("echoppe-licence.xhtml"))
        assert "Licensed to reader@example.com" in archive.read(page).decode()
