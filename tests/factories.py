from __future__ import annotations

import hashlib
import io
from pathlib import Path

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog.media import safe_filename, sniff
from catalog.models import Asset, Product, Seller
from catalog.services.assets import asset_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    user = factory.SubFactory(UserFactory)
    slug = factory.Sequence(lambda n: f"seller-{n}")
    display_name = factory.Sequence(lambda n: f"Seller {n}")
    currency = "EUR"
    # Verified unless a test says otherwise (SellerFactory(email_verified_at=None)).
    email_verified_at = factory.LazyFunction(timezone.now)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    slug = factory.Sequence(lambda n: f"product-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    kind = Product.Kind.EBOOK
    pricing = Product.Pricing.FIXED
    price = 900
    currency = "EUR"
    status = Product.Status.PUBLISHED


def pdf_bytes(payload: bytes = b"", *, title: str = "Demo", pages: int = 1) -> bytes:
    """A small valid PDF (pages of 200 x 200 pt) carrying ``payload`` in a stream.

    The media inspection refuses a PDF whose pages it cannot find, so tests
    that only care about the bytes wrap them in one of these.
    """
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"] * pages,
        b"<< /Title (" + title.encode("latin-1") + b") >>",
    ]
    info = len(objects)
    if payload:
        objects.append(b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


DEMO_MEDIA = Path(__file__).resolve().parent.parent / "shop" / "demo" / "media"


def demo_media(name: str) -> bytes:
    """The bytes of a real, valid file from shop/demo/media (MP3, Ogg, MP4, PDF, EPUB)."""
    return (DEMO_MEDIA / name).read_bytes()


def add_file(
    product: Product,
    content: bytes | None = None,
    name: str = "book.pdf",
    role: str = Asset.Role.DELIVERABLE,
    position: int = 1,
    *,
    inspect: bool = False,
) -> Asset:
    """A stored file of ``product``.

    Tests about inspection pass ``inspect=True`` and go through the real
    service (a bounded child process per file). Others get the same row
    without the child: size and hash from the bytes, type from the magic
    bytes (``catalog.media.sniff``), no metadata.
    """
    data = pdf_bytes() if content is None else content
    if inspect:
        return asset_create(
            product=product,
            file=ContentFile(data, name=name),
            original_filename=name,
            role=role,
            position=position,
        )
    sniffed = sniff(io.BytesIO(data))
    asset = Asset(
        product=product,
        role=role,
        position=position,
        original_filename=safe_filename(name),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        kind=sniffed.kind,
        mime_type=sniffed.mime,
    )
    asset.stored.save(asset.original_filename, ContentFile(data), save=False)
    asset.save()
    return asset


def wav_bytes(size: int = 48_000, *, seed: int = 0) -> bytes:
    """A valid WAV file of about ``size`` bytes (16-bit mono noise at 8 kHz).

    Any length is a real, playable file, so upload tests can use big ones
    without depending on what the media inspection accepts at the margins.
    """
    import io
    import random
    import wave

    frames = max(2, (size - 44) // 2)
    noise = random.Random(seed).randbytes(frames * 2)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(noise)
    return out.getvalue()
